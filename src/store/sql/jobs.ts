// The job queue and analysis completion, as queries on a Kysely database (used by sql-store.ts).
// Job times are epoch milliseconds from this process's clock.
import type { Kysely } from 'kysely';
import type { FileAnalysis, Job } from '../store.js';
import type { SqlDialect } from './dialect.js';
import { toJob } from './rows.js';
import type { Database } from './schema.js';
import { analysisColumns } from './subfiles.js';

/** Claims up to `max` jobs whose run_after has passed (queued, or running with an expired lease). */
export async function claim(
  db: Kysely<Database>, dialect: SqlDialect, workerId: string, max: number, leaseMs: number,
): Promise<Job[]> {
  if (max <= 0) return [];
  const now = Date.now();
  const runnable = dialect.lockForClaim(
    db.selectFrom('jobs').select('id').where('run_after', '<=', now)
      .orderBy('run_after').orderBy('id').limit(max),
  );
  // One statement, so it is atomic on both dialects; SKIP LOCKED keeps PostgreSQL claimers off
  // each other's rows, SQLite's write lock serialises them.
  const rows = await db.updateTable('jobs')
    .set((eb) => ({
      state: 'running', locked_by: workerId, locked_until: now + leaseMs,
      run_after: now + leaseMs, attempts: eb('attempts', '+', 1),
    }))
    .where('id', 'in', runnable)
    .returning(['id', 'kind', 'payload', 'attempts'])
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

/** Number of unfinished jobs. */
export async function pending(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Inside transaction `tx`: stores the analysis on the file, completes the submission, drops the job. */
export async function completeAnalysis(
  tx: Kysely<Database>, jobId: number, submissionId: number, a: FileAnalysis, date: number,
): Promise<void> {
  const sub = await tx.selectFrom('submissions').select('sha256').where('id', '=', submissionId).executeTakeFirst();
  if (sub) {
    await tx.updateTable('files').set((eb) => ({ ...analysisColumns(a, date), revision: eb('revision', '+', 1) }))
      .where('sha256', '=', sub.sha256).execute();
    await tx.updateTable('submissions').set({ status: 'completed', completed_at: date })
      .where('id', '=', submissionId).execute();
  }
  await tx.deleteFrom('jobs').where('id', '=', jobId).execute();
}

/** Queues a job; with `key`, only if no job with that key exists (queued or running). */
export async function enqueue(db: Kysely<Database>, kind: string, payload: Record<string, unknown>, key?: string): Promise<boolean> {
  if (key !== undefined && await db.selectFrom('jobs').select('id').where('job_key', '=', key).executeTakeFirst()) return false;
  await db.insertInto('jobs').values({
    kind, payload: JSON.stringify(payload), state: 'queued', attempts: 0, run_after: Date.now(),
    locked_by: null, locked_until: null, last_error: null, job_key: key ?? null,
  }).execute();
  return true;
}
