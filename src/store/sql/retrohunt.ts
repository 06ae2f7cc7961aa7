// Retrohunt jobs and their matches (RetrohuntStore). A job past its owner's limit of running jobs
// waits without a durable job; each job that ends (finished, aborted, deleted) queues the owner's
// oldest waiting one in the same transaction, and one that finishes or is aborted its e-mail.
import type { Kysely, Selectable } from 'kysely';
import { alreadyExists } from '../../model/errors.js';
import { EMAIL_LANE, MAX_ACTIVE_RETROHUNT_JOBS, RETROHUNT_EMAIL_JOB_KIND, RETROHUNT_JOB_KIND, RETROHUNT_LANE, type NewRetrohuntJob, type RetrohuntJobRecord, type RetrohuntJobState, type RetrohuntMatch, type RetrohuntProgress, type RetrohuntStatus } from '../../model/retrohunt.js';
import type { Corpus, FileRecord } from '../../model/records.js';
import { inCorpus } from './corpus.js';
import * as jobs from './jobs.js';
import { toFile } from './rows.js';
import type { Database, RetrohuntJobsTable } from './schema.js';

const ACTIVE: RetrohuntStatus[] = ['starting', 'running', 'aborting'];
const jobKey = (id: string) => `retrohunt:${id}`;

function toRecord(r: Selectable<RetrohuntJobsTable>): RetrohuntJobRecord {
  return { ...toState(r), rules: r.rules };
}

function toState(r: Omit<Selectable<RetrohuntJobsTable>, 'rules'>): RetrohuntJobState {
  return {
    id: r.id, ownerId: Number(r.owner_id), notificationEmail: r.notification_email, corpus: r.corpus as Corpus,
    timeRange: { start: Number(r.range_start), end: Number(r.range_end) }, status: r.status as RetrohuntStatus,
    progress: Number(r.progress), etaSeconds: Number(r.eta_seconds), scannedBytes: Number(r.scanned_bytes),
    scannedFiles: Number(r.scanned_files), totalFiles: Number(r.total_files), numMatches: Number(r.num_matches),
    creationDate: Number(r.creation_date), startDate: r.start_date === null ? null : Number(r.start_date),
    finishDate: r.finish_date === null ? null : Number(r.finish_date), cursor: r.cursor, dispatched: r.dispatched === 1,
    abortReason: r.abort_reason,
  };
}

export async function get(db: Kysely<Database>, id: string): Promise<RetrohuntJobRecord | null> {
  const row = await db.selectFrom('retrohunt_jobs').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toRecord(row) : null;
}

/** Queues the oldest waiting jobs of `ownerId` while fewer than MAX_ACTIVE_RETROHUNT_JOBS of its jobs hold a durable job. */
async function dispatch(tx: Kysely<Database>, ownerId: number): Promise<void> {
  const { n } = await tx.selectFrom('retrohunt_jobs').select((eb) => eb.fn.countAll<number | string>().as('n'))
    .where('owner_id', '=', ownerId).where('dispatched', '=', 1).where('status', 'in', ACTIVE).executeTakeFirstOrThrow();
  let free = MAX_ACTIVE_RETROHUNT_JOBS - Number(n);
  if (free <= 0) return;
  const waiting = await tx.selectFrom('retrohunt_jobs').select('id').where('owner_id', '=', ownerId).where('dispatched', '=', 0)
    .where('status', '=', 'starting').orderBy('creation_date').orderBy('id').limit(free).execute();
  for (const w of waiting) {
    await jobs.enqueue(tx, RETROHUNT_JOB_KIND, { retrohuntId: w.id }, jobKey(w.id), RETROHUNT_LANE);
    await tx.updateTable('retrohunt_jobs').set({ dispatched: 1 }).where('id', '=', w.id).execute();
    free--;
  }
}

export async function create(tx: Kysely<Database>, j: NewRetrohuntJob): Promise<RetrohuntJobRecord> {
  // `<username>-<creation ts>`; a second job of the user in the same second gets `-2`, then `-3`...
  const base = `${j.username}-${j.creationDate}`;
  const taken = new Set((await tx.selectFrom('retrohunt_jobs').select('id').where('id', 'like', `${base}%`).execute()).map((r) => r.id));
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}-${n}`;
  if (await tx.selectFrom('retrohunt_jobs').select('id').where('id', '=', id).executeTakeFirst()) throw alreadyExists(`retrohunt job ${id} exists`);
  await tx.insertInto('retrohunt_jobs').values({
    id, owner_id: j.ownerId, rules: j.rules, notification_email: j.notificationEmail, corpus: j.corpus,
    range_start: j.timeRange.start, range_end: j.timeRange.end, status: 'starting', progress: 0, eta_seconds: 0,
    scanned_bytes: 0, scanned_files: 0, total_files: 0, num_matches: 0, creation_date: j.creationDate,
    start_date: null, finish_date: null, cursor: null, dispatched: 0, abort_reason: null,
  }).execute();
  await dispatch(tx, j.ownerId);
  return (await get(tx, id))!;
}

export async function list(db: Kysely<Database>, ownerId: number | readonly number[], q: { status?: RetrohuntStatus; after?: { date: number; id: string }; limit: number }): Promise<RetrohuntJobRecord[]> {
  let sel = db.selectFrom('retrohunt_jobs').selectAll().where('owner_id', 'in', [ownerId].flat());
  if (q.status) sel = sel.where('status', '=', q.status);
  const after = q.after;
  if (after) {
    sel = sel.where((eb) => eb.or([
      eb('creation_date', '<', after.date),
      eb.and([eb('creation_date', '=', after.date), eb('id', '<', after.id)]),
    ]));
  }
  const rows = await sel.orderBy('creation_date', 'desc').orderBy('id', 'desc').limit(q.limit).execute();
  return rows.map(toRecord);
}

export async function count(db: Kysely<Database>, ownerId: number | readonly number[], status?: RetrohuntStatus): Promise<number> {
  let sel = db.selectFrom('retrohunt_jobs').select((eb) => eb.fn.countAll<number | string>().as('n')).where('owner_id', 'in', [ownerId].flat());
  if (status) sel = sel.where('status', '=', status);
  return Number((await sel.executeTakeFirstOrThrow()).n);
}

export async function remove(tx: Kysely<Database>, id: string): Promise<boolean> {
  const j = await get(tx, id);
  if (!j) return false;
  await tx.deleteFrom('retrohunt_matches').where('job_id', '=', id).execute();
  await tx.deleteFrom('retrohunt_jobs').where('id', '=', id).execute();
  // A queued job goes with it; a running one finds its row gone at its next batch and stops.
  await tx.deleteFrom('jobs').where('job_key', '=', jobKey(id)).where('state', '=', 'queued').execute();
  await dispatch(tx, j.ownerId);
  return true;
}

/**
 * Queues the e-mail of a job that just ended, when it has a notification_email: in the
 * transaction that ends it, so that a crash between the two cannot lose it.
 */
async function queueEmail(tx: Kysely<Database>, j: RetrohuntJobRecord): Promise<void> {
  if (!j.notificationEmail) return;
  await jobs.enqueue(tx, RETROHUNT_EMAIL_JOB_KIND, { retrohuntId: j.id }, `${RETROHUNT_EMAIL_JOB_KIND}:${j.id}`, EMAIL_LANE);
}

export async function abort(tx: Kysely<Database>, id: string, now: number, reason: string): Promise<RetrohuntJobRecord | null> {
  const j = await get(tx, id);
  if (!j) return null;
  if (j.status === 'starting' && !j.dispatched) {
    // Never queued: nothing runs it, so it is aborted at once.
    await tx.updateTable('retrohunt_jobs').set({ status: 'aborted', finish_date: now, abort_reason: reason }).where('id', '=', id).execute();
    await queueEmail(tx, j);
  } else if (j.status === 'starting' || j.status === 'running') {
    await tx.updateTable('retrohunt_jobs').set({ status: 'aborting', abort_reason: reason }).where('id', '=', id).execute();
  }
  return get(tx, id);
}

export async function start(tx: Kysely<Database>, id: string, now: number, totalFiles: number): Promise<RetrohuntJobRecord | null> {
  await tx.updateTable('retrohunt_jobs').set({ status: 'running', start_date: now, total_files: totalFiles })
    .where('id', '=', id).where('status', '=', 'starting').execute();
  return get(tx, id);
}

/** The columns of a job but its rules (RetrohuntJobState). */
const STATE_COLUMNS = [
  'id', 'owner_id', 'notification_email', 'corpus', 'range_start', 'range_end', 'status', 'progress', 'eta_seconds',
  'scanned_bytes', 'scanned_files', 'total_files', 'num_matches', 'creation_date', 'start_date', 'finish_date', 'cursor',
  'dispatched', 'abort_reason',
] as const;

async function state(db: Kysely<Database>, id: string): Promise<RetrohuntJobState | null> {
  const row = await db.selectFrom('retrohunt_jobs').select(STATE_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toState(row) : null;
}

export async function progress(tx: Kysely<Database>, id: string, p: RetrohuntProgress): Promise<RetrohuntJobState | null> {
  const j = await state(tx, id);
  if (!j) return null;
  let added = 0;
  // Many rows a statement: a common literal gives a batch thousands of matches.
  for (let i = 0; i < p.matches.length; i += 200) {
    const r = await tx.insertInto('retrohunt_matches').values(p.matches.slice(i, i + 200).map((m) => ({
      job_id: id, sha256: m.sha256, rule_name: m.rule, snippet: m.snippet, match_in_subfile: m.matchInSubfile ? 1 : 0,
    }))).onConflict((oc) => oc.columns(['job_id', 'sha256', 'rule_name']).doNothing()).executeTakeFirst();
    added += Number(r.numInsertedOrUpdatedRows ?? 0);
  }
  await tx.updateTable('retrohunt_jobs').set({
    cursor: p.cursor, scanned_files: p.scannedFiles, scanned_bytes: p.scannedBytes, progress: p.progress,
    eta_seconds: p.etaSeconds, num_matches: j.numMatches + added,
  }).where('id', '=', id).execute();
  return { ...j, cursor: p.cursor, scannedFiles: p.scannedFiles, scannedBytes: p.scannedBytes, progress: p.progress, etaSeconds: p.etaSeconds, numMatches: j.numMatches + added };
}

export async function finish(tx: Kysely<Database>, id: string, jobId: number, status: 'finished' | 'aborted', now: number, reason?: string): Promise<void> {
  await tx.deleteFrom('jobs').where('id', '=', jobId).execute();
  const j = await get(tx, id);
  if (!j) return;
  await tx.updateTable('retrohunt_jobs').set({
    status, finish_date: now, eta_seconds: 0,
    // The first reason stands (an owner's abort, then a failure while stopping, stays the owner's);
    // a job that finished anyway (an abort came after its last file) was not aborted.
    ...(status === 'finished' ? { progress: 100, abort_reason: null } : { abort_reason: j.abortReason ?? reason ?? null }),
  }).where('id', '=', id).execute();
  await dispatch(tx, j.ownerId);
  await queueEmail(tx, j);
}

export async function matches(db: Kysely<Database>, id: string, after: { sha256: string; rule: string } | undefined, limit: number): Promise<RetrohuntMatch[]> {
  let sel = db.selectFrom('retrohunt_matches').selectAll().where('job_id', '=', id);
  if (after) {
    sel = sel.where((eb) => eb.or([
      eb('sha256', '>', after.sha256),
      eb.and([eb('sha256', '=', after.sha256), eb('rule_name', '>', after.rule)]),
    ]));
  }
  const rows = await sel.orderBy('sha256').orderBy('rule_name').limit(limit).execute();
  return rows.map((r) => ({ sha256: r.sha256, rule: r.rule_name, snippet: r.snippet, matchInSubfile: r.match_in_subfile === 1 }));
}

type Range = { start: number; end: number };

/** The files of `corpus` first submitted within `range` (corpus.ts). */
const inRange = (db: Kysely<Database>, range: Range, corpus: Corpus) =>
  db.selectFrom('files').where(inCorpus(corpus))
    .where('first_submission_date', '>=', range.start).where('first_submission_date', '<=', range.end);

/** Files of `corpus` first submitted within `range`, in sha256 order after `after`. */
export async function corpus(db: Kysely<Database>, range: Range, after: string | null, limit: number, which: Corpus): Promise<FileRecord[]> {
  let sel = inRange(db, range, which).selectAll();
  if (after !== null) sel = sel.where('sha256', '>', after);
  return (await sel.orderBy('sha256').limit(limit).execute()).map(toFile);
}

/** The files among `sha256s` that corpus() would walk, by sha256. */
export async function candidates(db: Kysely<Database>, range: Range, sha256s: readonly string[], which: Corpus): Promise<FileRecord[]> {
  const out: FileRecord[] = [];
  for (let i = 0; i < sha256s.length; i += 500) {
    const rows = await inRange(db, range, which).selectAll().where('sha256', 'in', sha256s.slice(i, i + 500)).execute();
    out.push(...rows.map(toFile));
  }
  return out.sort((a, b) => (a.sha256 < b.sha256 ? -1 : a.sha256 > b.sha256 ? 1 : 0));
}

export async function corpusSize(db: Kysely<Database>, range: Range, which: Corpus): Promise<number> {
  const r = await inRange(db, range, which).select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
  return Number(r.n);
}
