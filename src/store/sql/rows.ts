// Conversions between table rows (schema.ts) and the records of the Store contract.
import type { Selectable } from 'kysely';
import type { AnalysisFailure, BundleInfo, CommunityScan, FileRecord, Job, SubmissionRecord, UserRecord } from '../store.js';
import type { FilesTable, JobsTable, SubmissionsTable, UsersTable } from './schema.js';

/** A users row as a UserRecord. */
export function toUser(r: Selectable<UsersTable>): UserRecord {
  return {
    id: Number(r.id),
    username: r.username,
    email: r.email,
    isAdmin: Number(r.is_admin) === 1,
    disabled: Number(r.disabled) === 1,
    createdAt: Number(r.created_at),
    apikeyHash: r.apikey_hash,
  };
}

/** A files row as a FileRecord; analysis fields are left out until an analysis completed. */
export function toFile(r: Selectable<FilesTable>): FileRecord {
  const f: FileRecord = {
    sha256: r.sha256,
    sha1: r.sha1,
    md5: r.md5,
    size: Number(r.size),
    names: JSON.parse(r.names) as string[],
    firstSubmissionDate: Number(r.first_submission_date),
    lastSubmissionDate: Number(r.last_submission_date),
    timesSubmitted: Number(r.times_submitted),
    uniqueSources: Number(r.unique_sources),
    revision: Number(r.revision),
  };
  if (r.magic !== null) f.magic = r.magic;
  if (r.type_description !== null) f.typeDescription = r.type_description;
  if (r.type_tag !== null) f.typeTag = r.type_tag;
  if (r.type_tags !== null) f.typeTags = JSON.parse(r.type_tags) as string[];
  if (r.type_extension !== null) f.typeExtension = r.type_extension;
  if (r.tags !== null) f.tags = JSON.parse(r.tags) as string[];
  if (r.last_analysis_date !== null) f.lastAnalysisDate = Number(r.last_analysis_date);
  if (r.bundle_info) f.bundleInfo = JSON.parse(r.bundle_info) as BundleInfo;
  if (r.analysis_error) f.analysisError = JSON.parse(r.analysis_error) as AnalysisFailure;
  if (r.community_scan) f.communityScan = JSON.parse(r.community_scan) as CommunityScan;
  return f;
}

/**
 * A submissions row as a SubmissionRecord. The row does not repeat the file's sha1/md5/size, so
 * the caller passes the file row (joined) for them.
 */
export function toSubmission(
  r: Selectable<SubmissionsTable> & { sha1: string; md5: string; size: number },
): SubmissionRecord {
  const s: SubmissionRecord = {
    id: Number(r.id),
    analysisId: r.analysis_id,
    sha256: r.sha256,
    sha1: r.sha1,
    md5: r.md5,
    size: Number(r.size),
    userId: Number(r.user_id),
    date: Number(r.date),
    name: r.name,
    sourceKey: r.source_key,
    sourceCountry: r.source_country,
    password: r.password,
    status: r.status,
    corpus: r.corpus,
  };
  if (r.completed_at !== null) s.completedAt = Number(r.completed_at);
  if (r.status === 'failed') {
    s.failure = { code: r.error_code ?? 'analysis_failed', message: r.error_message ?? '', date: Number(r.completed_at ?? r.date) };
  }
  return s;
}

/** A claimed jobs row as a Job; `attempts` in the row already counts this claim. */
export function toJob(r: Pick<Selectable<JobsTable>, 'id' | 'kind' | 'payload' | 'attempts' | 'lane'>): Job {
  return {
    id: Number(r.id),
    kind: r.kind,
    payload: JSON.parse(r.payload) as Record<string, unknown>,
    attempts: Number(r.attempts) - 1,
    lane: r.lane,
  };
}
