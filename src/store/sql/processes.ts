// The registry of live processes (ProcessStore): one row per process, replaced at each heartbeat.
import type { Kysely } from 'kysely';
import type { ProcessRecord } from '../../model/records.js';
import type { Database, ProcessesTable } from './schema.js';

function toRow(p: ProcessRecord): ProcessesTable {
  return {
    id: p.id, role: p.role, host: p.host, pid: p.pid, version: p.version, engine_version: p.engineVersion,
    started_at: p.startedAt, heartbeat_at: p.heartbeatAt, jobs_held: p.jobsHeld, lag_ms: Math.round(p.lagMs), blob_store: p.blobStore,
  };
}

function toRecord(r: ProcessesTable): ProcessRecord {
  return {
    id: r.id, role: r.role as ProcessRecord['role'], host: r.host, pid: Number(r.pid), version: r.version, engineVersion: r.engine_version,
    startedAt: Number(r.started_at), heartbeatAt: Number(r.heartbeat_at), jobsHeld: Number(r.jobs_held), lagMs: Number(r.lag_ms), blobStore: r.blob_store,
  };
}

export async function heartbeat(db: Kysely<Database>, p: ProcessRecord): Promise<void> {
  const row = toRow(p);
  await db.insertInto('processes').values(row)
    .onConflict((oc) => oc.column('id').doUpdateSet({ heartbeat_at: row.heartbeat_at, jobs_held: row.jobs_held, lag_ms: row.lag_ms }))
    .execute();
}

export async function remove(db: Kysely<Database>, id: string): Promise<void> {
  await db.deleteFrom('processes').where('id', '=', id).execute();
}

export async function list(db: Kysely<Database>, withinSeconds: number, now: number): Promise<ProcessRecord[]> {
  // Rows of processes that died long ago are dropped here: nobody else removes them.
  await db.deleteFrom('processes').where('heartbeat_at', '<', now - 86_400).execute();
  const rows = await db.selectFrom('processes').selectAll().where('heartbeat_at', '>=', now - withinSeconds)
    .orderBy('started_at').orderBy('id').execute();
  return rows.map(toRecord);
}
