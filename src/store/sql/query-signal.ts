// A request's abort signal, carried to the database driver in its statements' text. A client
// that leaves has its running statements cancelled (PostgreSQL: postgres-store.ts) instead of
// running on for up to databaseStatementTimeout: one crafted filter repeated and abandoned could
// otherwise keep every pooled connection busy. The statements of one request start with a mark,
// `/* request:<n> */ `, which the driver's wrapper strips and looks up here: an AsyncLocalStorage
// would have done it without marks, but on Node 20 it slows every promise of its thread 2x once
// used. Only statements of one request's list carry it, never shared or batched work, so a
// cancel cannot fail another request.
import { transient, TrawlError } from '../../model/errors.js';

const MARK = '/* request:';
const signals = new Map<number, AbortSignal>();
let lastId = 0;

/** What a statement of a request whose client left fails with (nobody reads it but the log). */
export const clientGone = (): TrawlError => transient('the client closed the connection; its query was cancelled');

/**
 * Runs `fn` with the mark its statements start with (empty without a signal, or when `marked`
 * is false: SQLite prepares statements by their text and cannot be cancelled anyway); fails
 * with clientGone() once `signal` is aborted.
 */
export async function withQuerySignal<T>(signal: AbortSignal | undefined, marked: boolean, fn: (mark: string) => Promise<T>): Promise<T> {
  if (!signal) return fn('');
  if (signal.aborted) throw clientGone();
  const id = marked ? ++lastId : 0;
  if (marked) signals.set(id, signal);
  try {
    return await fn(marked ? `${MARK}${id} */ ` : '');
  } catch (e) {
    throw signal.aborted ? clientGone() : e;
  } finally {
    signals.delete(id);
  }
}

/** A statement's text without its request mark, and the signal of that request if it has one. */
export function takeMark(text: string): { text: string; signal?: AbortSignal } {
  if (!text.startsWith(MARK)) return { text };
  const end = text.indexOf(' */ ', MARK.length);
  const signal = signals.get(Number(text.slice(MARK.length, end)));
  return { text: text.slice(end + 4), ...(signal ? { signal } : {}) };
}
