// Worker-thread entry of ThreadedStreamPages: its own read-only connection to the database, and
// pages read and serialized there while the API's event loop parses requests and sends replies.
import { parentPort, workerData } from 'node:worker_threads';
import { serveTasks } from '../threads/worker-pool.js';
import { TrawlError } from '../model/errors.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { LocalStreamPages, type StreamPageRequest } from './stream-pages.js';
import type { PageStoreOptions } from './threaded-stream-pages.js';
import type { StreamSerializer } from './stream-serializer.js';

const { databaseUrl, store: options, serializerModule } = workerData as { databaseUrl: string; store: PageStoreOptions; serializerModule: string };
// The wire format is the API's: the thread is told which module has it (ThreadedStreamPages.start).
const { streamSerializer } = (await import(serializerModule)) as { streamSerializer: StreamSerializer };
let store: Store;
try {
  store = await openStore(databaseUrl, { ...options, readOnly: true, writerThread: false });
} catch (e) {
  parentPort!.postMessage({ failed: { code: e instanceof TrawlError ? e.code : null, message: (e as Error).message } });
  process.exit(1);
}
const pages = new LocalStreamPages(store, streamSerializer);
/** The pages being read, by task id: a 'cancel' aborts one whose client left. */
const reading = new Map<number, AbortController>();
serveTasks({
  // The items go back as UTF-8 bytes, which live outside the JavaScript heap: as text, every page
  // was a ~67 KB string, or two, on the event loop's heap, and its young-generation collections
  // (pauses of 5-19 ms on one thread) took 7% of its time at ~1,800 pages/s (a third of that now).
  page: async (t) => {
    const controller = new AbortController();
    reading.set(Number(t.id), controller);
    try {
      const page = await pages.read(t.request as StreamPageRequest, controller.signal);
      return { ...page, items: Buffer.from(page.items) };
    } finally {
      reading.delete(Number(t.id));
    }
  },
  cancel: (t) => {
    reading.get(Number(t.page))?.abort();
    return null;
  },
  close: () => store.close(),
});
parentPort!.postMessage('ready');
