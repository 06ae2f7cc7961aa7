// A request's abort signal, seen by the database driver while a store method runs that request's
// query. A client that leaves has its running statements cancelled (PostgreSQL: postgres-store.ts)
// instead of running on for up to databaseStatementTimeout: one crafted filter repeated and
// abandoned could otherwise keep every pooled connection busy. The signal is set only around the
// statements of one request (NotificationQuery.signal), never around shared or batched work, so a
// cancel cannot fail another request's write.
import { AsyncLocalStorage } from 'node:async_hooks';
import { transient, TrawlError } from '../../model/errors.js';

const current = new AsyncLocalStorage<AbortSignal>();

/** The signal of the request whose statement is being sent, if any. */
export const querySignal = (): AbortSignal | undefined => current.getStore();

/** What a statement of a request whose client left fails with (nobody reads it but the log). */
export const clientGone = (): TrawlError => transient('the client closed the connection; its query was cancelled');

/** Runs `fn` with `signal` visible to the driver; fails with clientGone() once it is aborted. */
export async function withQuerySignal<T>(signal: AbortSignal | undefined, fn: () => Promise<T>): Promise<T> {
  if (!signal) return fn();
  if (signal.aborted) throw clientGone();
  try {
    return await current.run(signal, fn);
  } catch (e) {
    throw signal.aborted ? clientGone() : e;
  }
}
