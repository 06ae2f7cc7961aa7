// The body of addSubmission's transaction: file upsert, source bookkeeping, submission row and
// analyze job. Kept apart from sql-store.ts because group commit runs it many times per transaction.
import type { Kysely } from 'kysely';
import { analysisLane } from '../../model/records.js';
import { objectNotFound } from '../../model/errors.js';
import type { Corpus, NewSubmission, SubmissionRecord } from '../store.js';
import type { SqlDialect } from './dialect.js';
import { corpusFlags, joinCorpus } from './corpus.js';
import type { Database } from './schema.js';

/**
 * Writes one submission inside the caller's transaction `tx` and returns its record. The file
 * row is read-modify-written under a row lock (PostgreSQL) or the database write lock (SQLite).
 */
export async function writeSubmission(
  tx: Kysely<Database>,
  dialect: SqlDialect,
  input: NewSubmission,
  nowMs: number,
): Promise<SubmissionRecord> {
  const { reanalysis, ...rest } = input;
  const s = { ...rest, sha256: input.sha256.toLowerCase(), sha1: input.sha1.toLowerCase(), md5: input.md5.toLowerCase(), corpus: input.corpus ?? 'main' };
  if (reanalysis) {
    // The file as it is: only a submission row and its job (NewSubmission.reanalysis).
    const stored = await tx.selectFrom('files').select(['in_main']).where('sha256', '=', s.sha256).executeTakeFirst();
    if (!stored) throw objectNotFound('File', s.sha256);
    return queue(tx, { ...s, corpus: Number(stored.in_main) === 1 ? 'main' : 'goodware' }, nowMs);
  }
  const lockFile = () =>
    dialect
      .lockFileRow(
        tx.selectFrom('files')
          .select(['names', 'first_submission_date', 'last_submission_date'])
          .where('sha256', '=', s.sha256),
      )
      .executeTakeFirst();

  let file = await lockFile();
  if (!file) {
    const inserted = await tx.insertInto('files')
      .values({
        sha256: s.sha256, sha1: s.sha1, md5: s.md5, size: s.size,
        magic: null, type_description: null, type_tag: null, type_tags: null,
        type_extension: null, tags: null, last_analysis_date: null,
        names: JSON.stringify(s.name === null ? [] : [s.name]),
        first_submission_date: s.date, last_submission_date: s.date,
        times_submitted: 1, unique_sources: 1, ...corpusFlags(s.corpus),
      })
      .onConflict((oc) => oc.column('sha256').doNothing())
      .executeTakeFirst();
    if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) {
      await tx.insertInto('file_sources').values({ sha256: s.sha256, source_key: s.sourceKey }).execute();
    } else {
      // Another transaction created the file between our read and our insert (PostgreSQL only).
      file = await lockFile();
    }
  }
  if (file) {
    const names = JSON.parse(file.names) as string[];
    if (s.name !== null && !names.includes(s.name)) names.push(s.name);
    const source = await tx.insertInto('file_sources')
      .values({ sha256: s.sha256, source_key: s.sourceKey })
      .onConflict((oc) => oc.columns(['sha256', 'source_key']).doNothing())
      .executeTakeFirst();
    const newSource = Number(source.numInsertedOrUpdatedRows ?? 0) > 0 ? 1 : 0;
    await tx.updateTable('files')
      .set((eb) => ({
        names: JSON.stringify(names),
        first_submission_date: Math.min(Number(file.first_submission_date), s.date),
        last_submission_date: Math.max(Number(file.last_submission_date), s.date),
        times_submitted: eb('times_submitted', '+', 1),
        unique_sources: eb('unique_sources', '+', newSource),
        revision: eb('revision', '+', 1),
        ...joinCorpus(s.corpus),
      }))
      .where('sha256', '=', s.sha256)
      .execute();
  }

  return queue(tx, s, nowMs);
}

/** The submission row, status `queued`, and its analyze job. */
async function queue(tx: Kysely<Database>, s: NewSubmission & { corpus: Corpus }, nowMs: number): Promise<SubmissionRecord> {
  const { id } = await tx.insertInto('submissions')
    .values({
      analysis_id: s.analysisId, sha256: s.sha256, user_id: s.userId, date: s.date, name: s.name,
      source_key: s.sourceKey, source_country: s.sourceCountry, password: s.password,
      status: 'queued', completed_at: null, corpus: s.corpus,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await tx.insertInto('jobs')
    .values({
      kind: 'analyze', payload: JSON.stringify({ submissionId: Number(id) }), state: 'queued',
      attempts: 0, run_after: nowMs, locked_by: null, locked_until: null, last_error: null, job_key: null,
      lane: analysisLane(s),
    })
    .execute();
  return { ...s, id: Number(id), status: 'queued' };
}
