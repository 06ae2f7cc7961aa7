// What a job that could not run tells users: the raw error becomes a stable code and a short
// message that names no server path (the raw error stays in the log and on the failed job).
// docs/api.md lists the codes.
import { TrawlError } from '../model/errors.js';

/** The submitted file's bytes are not in the blob store (deleted or lost behind Trawl's back). */
export class MissingBlobError extends Error {
  constructor(readonly sha256: string) {
    super(`blob ${sha256} is missing`);
    this.name = 'MissingBlobError';
  }
}

/** The codes an analysis failure carries on the wire (`error.code`, `trawl_analysis_error.code`). */
export type FailureCode = 'content_missing' | 'timeout' | 'storage_unavailable' | 'analysis_failed';

export function describeFailure(err: unknown): { code: FailureCode; message: string } {
  if (err instanceof MissingBlobError) return { code: 'content_missing', message: "the file's contents are missing from the blob store" };
  if (err instanceof TrawlError && err.code === 'DeadlineExceededError') return { code: 'timeout', message: 'the analysis did not finish in time' };
  if (err instanceof TrawlError && err.code === 'TransientError') return { code: 'storage_unavailable', message: 'the database or the blob storage was unavailable' };
  // Anything else may quote paths or internals: the operator finds it in the log and on the job.
  return { code: 'analysis_failed', message: 'the analysis failed on the server' };
}

/** The raw error as kept on a failed job: its name and message, bounded. */
export function rawError(err: unknown): string {
  const text = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return text.length > 2000 ? `${text.slice(0, 2000)}...` : text;
}
