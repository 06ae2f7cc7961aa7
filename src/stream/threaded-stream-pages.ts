// IoC Stream pages read on a thread of their own (stream-page-thread.ts). Under load a page costs
// the event loop ~0.65 ms, half of it reading rows and serializing them; with that on another
// core the event loop only parses, authenticates and sends. Requests are posted as they come, so
// the thread always has the next one queued; a PostgreSQL thread reads several at once.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { reviveError, type TaskReply } from '../threads/worker-pool.js';
import { transient, TrawlError } from '../model/errors.js';
import type { OpenStoreOptions } from '../store/open-store.js';
import type { StreamPageRequest, StreamPages, StreamPageText } from './stream-pages.js';
import { workerExecArgv } from '../threads/worker-exec-argv.js';

/** How the thread opens its connection (PostgreSQL: `poolSize` connections). */
export type PageStoreOptions = Pick<OpenStoreOptions, 'poolSize' | 'preparedStatements' | 'statementTimeoutMs'>;

interface Pending { resolve(v: StreamPageText): void; reject(e: Error): void }

const MAX_RESPAWN_DELAY_MS = 5000;
const CLOSE_WAIT_MS = 5000;

export class ThreadedStreamPages implements StreamPages {
  private worker!: Worker;
  /** Between a thread's exit and its replacement's start: reads are refused, not lost. */
  private down = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private respawnDelay = 0;
  private respawn?: NodeJS.Timeout;

  private constructor(
    private readonly workerData: { databaseUrl: string; store: PageStoreOptions; serializerModule: string },
    private readonly log: Logger,
  ) {}

  /**
   * Starts the thread; fails (as a TrawlError) when it cannot open the database. `serializerModule`:
   * the URL of a module exporting `streamSerializer` (a StreamSerializer), which the thread loads.
   */
  static async start(databaseUrl: string, store: PageStoreOptions, serializerModule: string, log: Logger): Promise<ThreadedStreamPages> {
    const pages = new ThreadedStreamPages({ databaseUrl, store, serializerModule }, log);
    await pages.spawn(true);
    return pages;
  }

  read(request: StreamPageRequest, signal?: AbortSignal): Promise<StreamPageText> {
    if (this.closed) return Promise.reject(transient('the service is shutting down'));
    if (this.down) return Promise.reject(transient('the IoC Stream page thread is restarting; retry'));
    const id = this.nextId++;
    const worker = this.worker;
    // The thread cancels the page's statements (or skips a page it has not begun).
    const onAbort = () => worker.postMessage({ id: this.nextId++, kind: 'cancel', page: id });
    signal?.addEventListener('abort', onAbort, { once: true });
    return new Promise<StreamPageText>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, kind: 'page', request });
    }).finally(() => signal?.removeEventListener('abort', onAbort));
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.respawn);
    if (this.down) return; // exited, and no replacement will start
    const exited = new Promise((r) => this.worker.once('exit', r));
    // The thread closes its connection, then is stopped; a hung close is cut short.
    const id = this.nextId++;
    const closedDb = new Promise((resolve) => this.pending.set(id, { resolve, reject: resolve }));
    this.worker.postMessage({ id, kind: 'close' });
    await Promise.race([closedDb, new Promise((r) => setTimeout(r, CLOSE_WAIT_MS).unref())]);
    await this.worker.terminate();
    await exited;
  }

  /** Starts a thread; `first`: its failure to start is the caller's (later ones are retried). */
  private spawn(first = false): Promise<void> {
    const worker = new Worker(new URL('./stream-page-thread.js', import.meta.url), { workerData: this.workerData, execArgv: workerExecArgv() });
    this.worker = worker;
    this.down = false;
    // The API's server keeps the process alive; a forgotten thread must not.
    worker.unref();
    const startedAt = Date.now();
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: TaskReply | 'ready' | { failed: { code: string | null; message: string } }) => {
        if (m === 'ready') {
          ready = true;
          this.respawnDelay = 0;
          return resolve();
        }
        if ('failed' in m) {
          const e = m.failed.code ? new TrawlError(m.failed.code as TrawlError['code'], m.failed.message) : transient(m.failed.message);
          return ready ? undefined : reject(e);
        }
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.result as StreamPageText);
        else p?.reject(reviveError(m.error));
      });
      worker.on('error', (err) => this.log.error({ err }, 'IoC Stream page thread failed'));
      worker.on('exit', (code) => {
        this.down = true;
        this.failPending(transient(`the IoC Stream page thread exited with code ${code}; retry`));
        if (!ready) reject(transient(`the IoC Stream page thread exited with code ${code} while starting`));
        if (this.closed || (first && !ready)) return;
        // One that dies young is restarted with a growing delay, not in a tight loop.
        this.respawnDelay = Date.now() - startedAt < 1000 ? Math.min(MAX_RESPAWN_DELAY_MS, this.respawnDelay * 2 || 50) : 0;
        this.log.warn({ code, respawnMs: this.respawnDelay }, 'IoC Stream page thread exited; starting another');
        // A replacement that fails to start exits too, and is replaced in turn.
        this.respawn = setTimeout(() => void this.spawn().catch(() => undefined), this.respawnDelay);
      });
    });
  }

  private failPending(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }
}
