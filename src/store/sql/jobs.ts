// The job queue and analysis completion, as queries on a Kysely database (used by sql-store.ts).
// Job times are epoch milliseconds from this process's clock.
import { sql, type Kysely } from 'kysely';
import type { CommunityScan, Corpus, FileAnalysis, Job, JobQueueStats, LaneLimits } from '../store.js';
import type { SqlDialect } from './dialect.js';
import { toJob } from './rows.js';
import type { Database } from './schema.js';
import { analysisColumns } from './subfiles.js';

/** Lanes looked at per claim: each is a few index lookups. */
const MAX_LANES = 256;

/** A runnable job and its lane, as a claim weighs it. */
interface Candidate {
  id: number;
  lane: string;
  run_after: number;
}

/**
 * Claims up to `max` jobs whose run_after has passed (queued, or running with an expired lease),
 * sharing them fairly between lanes: the next job always comes from the lane with the fewest
 * running (in every process, these included), oldest first among equals. One user's ten thousand
 * queued uploads then delay another user's upload by one job, not by ten thousand.
 */
export async function claim(
  db: Kysely<Database>, dialect: SqlDialect, workerId: string, max: number, leaseMs: number, limits?: LaneLimits,
): Promise<Job[]> {
  if (max <= 0) return [];
  const now = Date.now();
  const chosen = pickFairly(await candidates(db, now, max), max, limits);
  if (chosen.length === 0) return [];
  // Checked again as they are taken: another process may have claimed some meanwhile.
  const runnable = dialect.lockForClaim(
    db.selectFrom('jobs').select('id').where('id', 'in', chosen).where('run_after', '<=', now),
  );
  // One statement, so it is atomic on both dialects; SKIP LOCKED keeps PostgreSQL claimers off
  // each other's rows, SQLite's write lock serialises them.
  const rows = await db.updateTable('jobs')
    .set((eb) => ({
      state: 'running', locked_by: workerId, locked_until: now + leaseMs,
      run_after: now + leaseMs, attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', runnable)
    .returning(['id', 'kind', 'payload', 'attempts', 'lane'])
    .execute();
  const jobs = rows.map(toJob).sort((a, b) => a.id - b.id);
  // Their submissions are now in progress: set in this transaction rather than one more per job.
  const submissions = jobs.filter((j) => j.kind === 'analyze').map((j) => Number(j.payload.submissionId));
  if (submissions.length > 0) {
    await db.updateTable('submissions').set({ status: 'in-progress' })
      .where('id', 'in', submissions).where('status', '=', 'queued').execute();
  }
  return jobs;
}

/**
 * The first `max` runnable jobs of each lane, and how many each lane has running. Lanes are
 * found by skipping through the (lane, run_after, id) index, one lookup per lane; the oldest
 * jobs overall are candidates too, so lanes past MAX_LANES still move.
 */
async function candidates(db: Kysely<Database>, now: number, max: number): Promise<{ jobs: Candidate[]; running: Map<string, number> }> {
  const lanes = await sql<{ lane: string }>`
    with recursive lanes(lane, n) as (
      select (select lane from jobs order by lane limit 1), 1
      union all
      select (select j.lane from jobs j where j.lane > lanes.lane order by j.lane limit 1), n + 1
      from lanes where lanes.lane is not null and n < ${MAX_LANES}
    )
    select lane from lanes where lane is not null`.execute(db);
  const names = lanes.rows.map((r) => r.lane);
  if (names.length === 0) return { jobs: [], running: new Map() };
  const firsts = [
    ...names.map((lane) => sql`select * from (select id, lane, run_after from jobs where lane = ${lane} and run_after <= ${now} order by run_after, id limit ${max}) l`),
    sql`select * from (select id, lane, run_after from jobs where run_after <= ${now} order by run_after, id limit ${max}) o`,
  ];
  const jobs = await sql<Candidate>`${sql.join(firsts, sql` union `)}`.execute(db);
  const counts = await sql<{ lane: string; n: number | string }>`${sql.join(names.map((lane) =>
    sql`select cast(${lane} as text) as lane, (select count(*) from jobs where lane = ${lane} and state = 'running' and run_after > ${now}) as n`), sql` union all `)}`.execute(db);
  return {
    jobs: jobs.rows.map((r) => ({ id: Number(r.id), lane: r.lane, run_after: Number(r.run_after) })),
    running: new Map(counts.rows.map((r) => [r.lane, Number(r.n)])),
  };
}

/**
 * Takes `max` jobs one at a time, each from the lane with the fewest running or taken so far,
 * none from a lane whose limit the claimer's held jobs and those taken reach.
 */
export function pickFairly(c: { jobs: Candidate[]; running: Map<string, number> }, max: number, limits?: LaneLimits): number[] {
  const byLane = new Map<string, Candidate[]>();
  const older = (a: Candidate, b: Candidate) => a.run_after - b.run_after || a.id - b.id;
  for (const j of [...c.jobs].sort(older)) {
    const q = byLane.get(j.lane);
    if (q) q.push(j);
    else byLane.set(j.lane, [j]);
  }
  const load = new Map([...byLane.keys()].map((lane) => [lane, c.running.get(lane) ?? 0]));
  const room = new Map([...byLane.keys()].map((lane) => [lane, limits ? (limits.caps?.[lane] ?? limits.perLane) - (limits.held[lane] ?? 0) : Infinity]));
  const out: number[] = [];
  while (out.length < max) {
    let best: string | null = null;
    for (const [lane, q] of byLane) {
      if (q.length === 0 || room.get(lane)! <= 0) continue;
      if (best === null) {
        best = lane;
        continue;
      }
      const d = load.get(lane)! - load.get(best)!;
      if (d < 0 || (d === 0 && older(q[0]!, byLane.get(best)![0]!) < 0)) best = lane;
    }
    if (best === null) break;
    out.push(byLane.get(best)!.shift()!.id);
    load.set(best, load.get(best)! + 1);
    room.set(best, room.get(best)! - 1);
  }
  return out;
}

/** Puts a job back in the queue, runnable after `delayMs`. */
export async function retry(db: Kysely<Database>, jobId: number, error: string, delayMs: number): Promise<void> {
  await db.updateTable('jobs')
    .set({ state: 'queued', run_after: Date.now() + delayMs, locked_by: null, locked_until: null, last_error: error })
    .where('id', '=', jobId).execute();
}

/** Pushes back the lease expiry of every job `workerId` holds. */
export async function extendLeases(db: Kysely<Database>, workerId: string, leaseMs: number): Promise<void> {
  const until = Date.now() + leaseMs;
  await db.updateTable('jobs').set({ locked_until: until, run_after: until })
    .where('state', '=', 'running').where('locked_by', '=', workerId).execute();
}

/** Makes every running job claimable now; returns how many there were. */
export async function requeueRunning(db: Kysely<Database>): Promise<number> {
  const r = await db.updateTable('jobs')
    .set({ state: 'queued', run_after: Date.now(), locked_by: null, locked_until: null })
    .where('state', '=', 'running').executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Number of unfinished jobs (failed ones wait for an operator, not for a worker). */
export async function pending(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n'))
    .where('state', '<>', 'failed').executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Queued and running jobs by kind, and the oldest queued one's run_after: one grouped scan of the table. */
export async function queueStats(db: Kysely<Database>): Promise<JobQueueStats[]> {
  const rows = await db.selectFrom('jobs')
    .select((eb) => ['kind', 'state', eb.fn.countAll().as('n'), eb.fn.min('run_after').as('oldest')])
    .groupBy(['kind', 'state'])
    .execute();
  const byKind = new Map<string, JobQueueStats>();
  for (const r of rows) {
    let s = byKind.get(r.kind);
    if (!s) byKind.set(r.kind, (s = { kind: r.kind, queued: 0, running: 0, failed: 0, oldestQueuedAt: null }));
    if (r.state === 'queued') {
      s.queued = Number(r.n);
      s.oldestQueuedAt = Number(r.oldest);
    } else if (r.state === 'running') s.running = Number(r.n);
    else if (r.state === 'failed') s.failed = Number(r.n);
  }
  return [...byKind.values()].sort((a, b) => (a.kind < b.kind ? -1 : 1));
}

/**
 * Inside transaction `tx`: stores the analysis on the file, completes the submission, drops the
 * job. Returns the submission's corpus, which its subfiles join (`main` when it is gone).
 */
export async function completeAnalysis(
  tx: Kysely<Database>, jobId: number, submissionId: number, a: FileAnalysis, date: number, community?: CommunityScan | null,
): Promise<Corpus> {
  const sub = await tx.selectFrom('submissions').select(['sha256', 'corpus']).where('id', '=', submissionId).executeTakeFirst();
  if (sub) {
    const verdict = community !== undefined ? { community_scan: community && JSON.stringify(community) } : {};
    await tx.updateTable('files').set((eb) => ({ ...analysisColumns(a, date), ...verdict, revision: eb('revision', '+', 1) }))
      .where('sha256', '=', sub.sha256).execute();
    await tx.updateTable('submissions').set({ status: 'completed', completed_at: date, error_code: null, error_message: null })
      .where('id', '=', submissionId).execute();
  }
  await tx.deleteFrom('jobs').where('id', '=', jobId).execute();
  return sub?.corpus ?? 'main';
}

/** Queues a job; with `key`, only if no job with that key is queued or running. */
export async function enqueue(db: Kysely<Database>, kind: string, payload: Record<string, unknown>, key?: string, lane = kind): Promise<boolean> {
  if (key !== undefined && await db.selectFrom('jobs').select('id').where('job_key', '=', key).where('state', '<>', 'failed').executeTakeFirst()) return false;
  await db.insertInto('jobs').values({
    kind, payload: JSON.stringify(payload), state: 'queued', attempts: 0, run_after: Date.now(),
    locked_by: null, locked_until: null, last_error: null, job_key: key ?? null, lane,
  }).execute();
  return true;
}
