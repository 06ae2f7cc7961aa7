// ZIP files (ZipFileStore): a row per request, created with its durable `zip-file` job in one
// transaction, and ended (status, blob, password forgotten, job removed) in another.
import { randomBytes } from 'node:crypto';
import type { Kysely, Selectable } from 'kysely';
import { ZIP_FILE_JOB_KIND, ZIP_FILE_LANE, type NewZipFile, type ZipFileOutcome, type ZipFileRecord, type ZipFileStatus } from '../../model/zip-file.js';
import * as jobs from './jobs.js';
import type { Database, ZipFilesTable } from './schema.js';

function toRecord(r: Selectable<ZipFilesTable>): ZipFileRecord {
  return {
    id: r.id, ownerId: Number(r.owner_id), hashes: JSON.parse(r.hashes) as string[], password: r.password,
    encrypted: Number(r.encrypted) === 1, status: r.status as ZipFileStatus, progress: Number(r.progress),
    filesOk: Number(r.files_ok), filesError: Number(r.files_error), creationDate: Number(r.creation_date),
    finishDate: r.finish_date === null ? null : Number(r.finish_date), blob: r.blob,
    size: r.size === null ? null : Number(r.size), error: r.error,
  };
}

/** A random id of 18 decimal digits (VirusTotal's look like numbers; clients treat them as strings). */
const newId = () => (randomBytes(8).readBigUInt64BE() % 10n ** 18n).toString().padStart(18, '1');

export async function get(db: Kysely<Database>, id: string): Promise<ZipFileRecord | null> {
  const row = await db.selectFrom('zip_files').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : null;
}

export async function create(tx: Kysely<Database>, z: NewZipFile): Promise<ZipFileRecord> {
  const id = newId();
  await tx.insertInto('zip_files').values({
    id, owner_id: z.ownerId, hashes: JSON.stringify(z.hashes), password: z.password, encrypted: z.password === null ? 0 : 1,
    status: 'starting', progress: 0, files_ok: 0, files_error: 0, creation_date: z.creationDate,
    finish_date: null, blob: null, size: null, error: null,
  }).execute();
  await jobs.enqueue(tx, ZIP_FILE_JOB_KIND, { zipFileId: id }, `${ZIP_FILE_JOB_KIND}:${id}`, ZIP_FILE_LANE);
  return (await get(tx, id))!;
}

/** Records how far a build got; a ZIP file that ended meanwhile (or was deleted) is left alone. */
export async function progress(db: Kysely<Database>, id: string, p: { progress: number; filesOk: number; filesError: number }): Promise<void> {
  await db.updateTable('zip_files')
    .set({ status: 'creating', progress: Math.max(0, Math.min(100, Math.round(p.progress))), files_ok: p.filesOk, files_error: p.filesError })
    .where('id', '=', id).where('status', 'in', ['starting', 'creating']).execute();
}

export async function finish(tx: Kysely<Database>, id: string, jobId: number, outcome: ZipFileOutcome, now: number): Promise<void> {
  await tx.updateTable('zip_files').set({
    status: outcome.status, progress: outcome.status === 'finished' ? 100 : undefined, files_ok: outcome.filesOk, files_error: outcome.filesError,
    finish_date: now, password: null,
    blob: outcome.status === 'finished' ? outcome.blob : null, size: outcome.status === 'finished' ? outcome.size : null,
    error: outcome.status === 'error-creating' ? outcome.error : null,
  }).where('id', '=', id).execute();
  await tx.deleteFrom('jobs').where('id', '=', jobId).execute();
}

/** ZIP files that ended before `before` (UNIX seconds), oldest first. */
export async function ended(db: Kysely<Database>, before: number, limit: number): Promise<ZipFileRecord[]> {
  const rows = await db.selectFrom('zip_files').selectAll().where('finish_date', '<', before).orderBy('finish_date').limit(limit).execute();
  return rows.map(toRecord);
}

/**
 * Forgets a ZIP file. Returns its blob when nothing else holds it (another ZIP file of the same
 * bytes, a stored file), for the caller to remove; null otherwise or when there was none.
 */
export async function remove(tx: Kysely<Database>, id: string): Promise<string | null> {
  const z = await tx.selectFrom('zip_files').select('blob').where('id', '=', id).executeTakeFirst();
  if (!z) return null;
  await tx.deleteFrom('zip_files').where('id', '=', id).execute();
  if (!z.blob) return null;
  const shared = await tx.selectFrom('zip_files').select('id').where('blob', '=', z.blob).executeTakeFirst()
    ?? await tx.selectFrom('files').select('sha256').where('sha256', '=', z.blob).executeTakeFirst();
  return shared ? null : z.blob;
}
