// Local storage failures (the blob folder, or a process's local working folder) as clients see them.
import { TrawlError, insufficientStorage, transient } from '../../model/errors.js';

/** Turns a filesystem error into the client-facing error it should become. */
export function storageError(err: unknown, action: string): TrawlError {
  if (err instanceof TrawlError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return insufficientStorage(`blob storage is full: cannot ${action}`);
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') {
    return insufficientStorage(`blob storage is not writable (${code}): cannot ${action}`);
  }
  return transient(`blob storage failed (${code ?? 'error'}): cannot ${action}`);
}
