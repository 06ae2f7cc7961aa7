// The embedded store as the service uses it: reads run on a read-only connection in the calling
// thread (microseconds, never blocked by writers in WAL mode); writes run on the write connection
// in a worker thread (sqlite-writer.ts), where commits fsync without stalling HTTP.
import { Worker } from 'node:worker_threads';
import { TrawlError, transient, type ErrorCode } from '../../model/errors.js';
import type { Store } from '../store.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite-store.js';
import type { WriterReply, WriterRequest } from './sqlite-writer.js';
import { workerExecArgv } from '../../threads/worker-exec-argv.js';

/** Store methods that write, and so go to the writer thread. Everything else reads locally. */
const WRITES = [
  'setSettingIfAbsent', 'createUser', 'updateUser', 'deleteUser', 'addSubmission', 'setSubmissionStatus',
  'claimJobs', 'retryJob', 'extendLeases', 'requeueRunningJobs', 'completeAnalysis', 'completeJob', 'createUploadUrl',
  'consumeUploadUrl', 'createRuleset', 'updateRuleset', 'deleteRuleset', 'addRulesetEditor', 'removeRulesetEditor',
  'recordSlowScan', 'deleteJob', 'deleteNotifications', 'clearPendingEmails', 'enqueueJob',
  'heartbeatProcess', 'removeProcess', 'listProcesses',
  'failJob', 'failAnalysis', 'retryFailedJobs',
  'createRetrohuntJob', 'deleteRetrohuntJob', 'abortRetrohuntJob', 'startRetrohuntJob', 'recordRetrohuntProgress', 'finishRetrohuntJob',
  'indexFiles', 'addIndexSegment', 'dropIndexSegments', 'resetContentIndex',
  'createZipFile', 'recordZipFileProgress', 'finishZipFile', 'deleteZipFile',
  'createGroup', 'deleteGroup', 'setGroupMember', 'removeGroupMember', 'addRulesetGroup', 'removeRulesetGroup',
  'setQuota', 'addDailyUsage', 'addMinuteUsage',
] as const satisfies readonly (keyof Store)[];

type Pending = { resolve(v: unknown): void; reject(e: Error): void };

function rebuild(error: { code: string | null; message: string }): Error {
  return error.code ? new TrawlError(error.code as ErrorCode, error.message) : new TrawlError('InternalError', error.message);
}

class Writer {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: WriterReply | string) => {
      if (typeof m === 'string') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.ok) p?.resolve(m.result);
      else p?.reject(rebuild(m.error));
    });
    worker.on('error', (e) => this.fail(e));
    worker.on('exit', () => this.fail(new Error('exited')));
  }

  /** Starts the writer thread; resolves once it has opened and migrated the database. */
  static start(path: string, options: SqliteStoreOptions): Promise<Writer> {
    const worker = new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData: { path, options }, execArgv: workerExecArgv() });
    return new Promise((resolve, reject) => {
      const onMessage = (m: unknown) => {
        worker.off('message', onMessage);
        if (m === 'ready') resolve(new Writer(worker));
        else {
          void worker.terminate();
          reject(rebuild((m as { failed: { code: string | null; message: string } }).failed));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  }

  private fail(e: Error): void {
    this.dead ??= transient(`database writer stopped: ${e.message}`);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  call(method: WriterRequest['method'], args: unknown[]): Promise<unknown> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, method, args } satisfies WriterRequest);
    });
  }

  async close(): Promise<void> {
    if (this.dead) return;
    const closed = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage('close');
    await closed;
  }
}

/** Opens the SQLite store at `path` with its writer thread (which also migrates the schema). */
export async function openThreadedSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const writer = await Writer.start(path, options);
  let reader: Store;
  try {
    reader = await openSqliteStore(path, { ...options, readOnly: true });
  } catch (e) {
    await writer.close();
    throw e;
  }
  // The reader, with its write methods replaced by calls to the writer thread.
  const store = Object.create(reader) as Store;
  for (const m of WRITES) (store as unknown as Record<string, unknown>)[m] = (...args: unknown[]) => writer.call(m, args);
  store.close = async () => {
    await writer.close();
    await reader.close();
  };
  return store;
}
