// Worker-thread entry that owns the SQLite write connection: it runs the write methods of a
// full SqlStore, so their fsyncs (and lock waits) never block the API's event loop.
import { parentPort, workerData } from 'node:worker_threads';
import { TrawlError } from '../../model/errors.js';
import type { Store } from '../store.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';

export interface WriterRequest {
  id: number;
  method: keyof Store;
  args: unknown[];
}

export type WriterReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string | null; message: string } };

const { path, options } = workerData as { path: string; options: SqliteStoreOptions };
const port = parentPort!;

function describe(e: unknown): { code: string | null; message: string } {
  return e instanceof TrawlError ? { code: e.code, message: e.message } : { code: null, message: String((e as Error)?.message ?? e) };
}

openSqliteStore(path, options).then(
  (store) => {
    port.on('message', async (req: WriterRequest | 'close') => {
      if (req === 'close') {
        await store.close().catch(() => undefined);
        port.postMessage('closed');
        port.close();
        return;
      }
      try {
        const fn = store[req.method] as (...a: unknown[]) => Promise<unknown>;
        port.postMessage({ id: req.id, ok: true, result: await fn.apply(store, req.args) } satisfies WriterReply);
      } catch (e) {
        port.postMessage({ id: req.id, ok: false, error: describe(e) } satisfies WriterReply);
      }
    });
    port.postMessage('ready');
  },
  (e: unknown) => port.postMessage({ failed: describe(e) }),
);
