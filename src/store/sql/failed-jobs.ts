// Jobs given up on, as queries (used by sql-store.ts): kept as `failed` with their last error so
// an operator can see and retry them, and the failure shown on their analysis and file.
import type { Kysely } from 'kysely';
import type { AnalysisFailure, FailedJob } from '../store.js';
import type { Database } from './schema.js';

/**
 * The run_after of a failed job: past every claim's `run_after <= now`, so claims skip failed
 * jobs through the claim index alone instead of walking them on every claim. 2^53 - 1 fits
 * SQLite's integer, PostgreSQL's bigint and a JavaScript number.
 */
export const FAILED_RUN_AFTER = Number.MAX_SAFE_INTEGER;

/** Inside `tx`: keeps the job as failed, with its raw error and attempts. */
export async function failJob(tx: Kysely<Database>, jobId: number, error: string): Promise<void> {
  await tx.updateTable('jobs')
    .set({ state: 'failed', run_after: FAILED_RUN_AFTER, locked_by: null, locked_until: null, last_error: error, failed_at: Date.now() })
    .where('id', '=', jobId).execute();
}

/**
 * Inside `tx`: fails the job, marks its submission failed with `failure`, and sets the failure on
 * the file (a new revision, so cached serialized forms of it are rebuilt).
 */
export async function failAnalysis(tx: Kysely<Database>, jobId: number, submissionId: number, failure: AnalysisFailure, error: string): Promise<void> {
  await failJob(tx, jobId, error);
  const sub = await tx.selectFrom('submissions').select('sha256').where('id', '=', submissionId).executeTakeFirst();
  if (!sub) return;
  await tx.updateTable('submissions')
    .set({ status: 'failed', completed_at: failure.date, error_code: failure.code, error_message: failure.message })
    .where('id', '=', submissionId).execute();
  await tx.updateTable('files').set((eb) => ({ analysis_error: JSON.stringify(failure), revision: eb('revision', '+', 1) }))
    .where('sha256', '=', sub.sha256).execute();
}

/** Failed jobs by id, starting after `afterId`. */
export async function listFailed(db: Kysely<Database>, afterId: number, limit: number): Promise<FailedJob[]> {
  const rows = await db.selectFrom('jobs').select(['id', 'kind', 'payload', 'attempts', 'last_error', 'failed_at'])
    .where('state', '=', 'failed').where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({
    id: Number(r.id), kind: r.kind, payload: JSON.parse(r.payload) as Record<string, unknown>,
    attempts: Number(r.attempts), lastError: r.last_error ?? '', failedAt: Number(r.failed_at ?? 0),
  }));
}

/** Failed jobs, counted (only those of `kind` when given). */
export async function countFailed(db: Kysely<Database>, kind?: string): Promise<number> {
  let q = db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).where('state', '=', 'failed');
  if (kind !== undefined) q = q.where('kind', '=', kind);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

/**
 * Inside `tx`: queues the failed jobs among `ids` (every failed job when absent) to run now with
 * a fresh count of attempts; their analyses go back to `queued`. Returns the ids requeued. The
 * file keeps its analysis error until an analysis succeeds: it still describes the latest one.
 */
export async function retryFailed(tx: Kysely<Database>, ids?: number[]): Promise<number[]> {
  if (ids?.length === 0) return [];
  let q = tx.updateTable('jobs')
    .set({ state: 'queued', run_after: Date.now(), attempts: 0, failed_at: null })
    .where('state', '=', 'failed');
  if (ids) q = q.where('id', 'in', ids);
  const rows = await q.returning(['id', 'kind', 'payload']).execute();
  const submissions = rows.filter((r) => r.kind === 'analyze').map((r) => Number((JSON.parse(r.payload) as { submissionId?: unknown }).submissionId));
  for (let i = 0; i < submissions.length; i += 500) {
    await tx.updateTable('submissions').set({ status: 'queued', completed_at: null, error_code: null, error_message: null })
      .where('id', 'in', submissions.slice(i, i + 500)).where('status', '=', 'failed').execute();
  }
  return rows.map((r) => Number(r.id)).sort((a, b) => a - b);
}
