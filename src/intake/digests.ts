// md5, sha1 and sha256 of an upload, fed with its bytes in order as they are written. An upload's
// first `offloadAfter` bytes are held back: a small upload is hashed inline at the end; a larger
// one is handed, batch by batch, to a digest worker thread that hashes while the rest arrives, so
// the event loop never pays for hashing large files. (Hash state cannot cross threads, hence the
// decision before hashing, and one thread per upload.)
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { transient } from '../model/errors.js';
import type { DigestReply, DigestRequest } from './digest-worker.js';
import { workerExecArgv } from '../threads/worker-exec-argv.js';

export interface Digests {
  sha256: string;
  sha1: string;
  md5: string;
}

export function digestsOf(chunks: Buffer[]): Digests {
  const [sha256, sha1, md5] = ['sha256', 'sha1', 'md5'].map((alg) => {
    const h = createHash(alg);
    for (const c of chunks) h.update(c);
    return h.digest('hex');
  }) as [string, string, string];
  return { sha256, sha1, md5 };
}

type Waiter = { resolve(d: Digests): void; reject(e: Error): void };

/** Digest worker threads shared by all uploads of a process. */
export class DigestPool {
  private readonly workers: Worker[] = [];
  private readonly waiting = new Map<number, Waiter>();
  /** Sessions with bytes on a thread, for acknowledgements. */
  readonly sessions = new Map<number, DigestSession>();
  private nextId = 1;

  constructor(
    size: number,
    /** Uploads up to this many bytes are hashed inline. */
    readonly offloadAfter = 1024 * 1024,
  ) {
    const execArgv = workerExecArgv();
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL('./digest-worker.js', import.meta.url), { execArgv });
      w.on('message', (m: DigestReply) => this.onReply(m));
      // A digest thread that dies fails the uploads it was hashing; clients retry them.
      w.on('error', (e) => this.failAll(e));
      w.on('exit', () => this.failAll(new Error('digest thread exited')));
      w.unref();
      this.workers.push(w);
    }
  }

  private onReply(m: DigestReply): void {
    if (m.op === 'ack') return this.sessions.get(m.id)?.acked(m.bytes);
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.op === 'failed') w?.reject(transient(`hashing failed: ${m.message}`));
    else w?.resolve({ sha256: m.sha256, sha1: m.sha1, md5: m.md5 });
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(transient(`hashing failed: ${e.message}`));
    this.waiting.clear();
    for (const s of this.sessions.values()) s.acked(Infinity);
  }

  /** Starts the digests of one upload. */
  start(): DigestSession {
    return new DigestSession(this, this.nextId++);
  }

  /** @internal Sends bytes of session `id` to its thread; `bytes` is detached (transferred). */
  send(id: number, bytes: ArrayBuffer): void {
    this.workerOf(id).postMessage({ op: 'data', id, bytes } satisfies DigestRequest, [bytes]);
  }

  /** @internal The digests of session `id`, once its thread has hashed every byte sent. */
  end(id: number): Promise<Digests> {
    this.sessions.delete(id);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workerOf(id).postMessage({ op: 'end', id } satisfies DigestRequest);
    });
  }

  /** @internal Forgets session `id` (its upload failed). */
  drop(id: number): void {
    this.sessions.delete(id);
    this.workerOf(id).postMessage({ op: 'drop', id } satisfies DigestRequest);
  }

  private workerOf(id: number): Worker {
    return this.workers[id % this.workers.length]!;
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Bytes of one upload that may wait to be hashed on its thread. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

/** A buffer's own memory, ready to transfer: its ArrayBuffer if it spans it whole, else a copy. */
function ownBytes(buf: Buffer): ArrayBuffer {
  const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer;
  return whole ? (buf.buffer as ArrayBuffer) : new Uint8Array(buf).buffer;
}

/**
 * The digests of one upload: add() every written batch in order (it then belongs to the
 * session), digest() once at the end, or drop() when the upload fails.
 */
export class DigestSession {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private large = false;
  /** Bytes sent to the thread and not yet hashed there. */
  private inFlight = 0;
  private drained: (() => void) | null = null;

  constructor(
    private readonly pool: DigestPool,
    private readonly id: number,
  ) {}

  /**
   * Takes the next batch. Resolves at once, or, when the thread is behind by more than
   * MAX_IN_FLIGHT bytes, once it caught up: the upload then waits instead of memory growing.
   */
  async add(batch: Buffer): Promise<void> {
    if (!this.large) {
      this.held.push(batch);
      this.heldBytes += batch.length;
      if (this.heldBytes <= this.pool.offloadAfter) return;
      this.large = true;
      this.pool.sessions.set(this.id, this);
      for (const b of this.held.splice(0)) this.send(b);
    } else {
      this.send(batch);
    }
    if (this.inFlight > MAX_IN_FLIGHT) await new Promise<void>((r) => (this.drained = r));
  }

  private send(b: Buffer): void {
    this.inFlight += b.length;
    this.pool.send(this.id, ownBytes(b));
  }

  /** @internal The thread hashed `bytes` more. */
  acked(bytes: number): void {
    this.inFlight = Math.max(0, this.inFlight - bytes);
    if (this.inFlight <= MAX_IN_FLIGHT / 2 && this.drained) {
      this.drained();
      this.drained = null;
    }
  }

  digest(): Promise<Digests> {
    return this.large ? this.pool.end(this.id) : Promise.resolve(digestsOf(this.held));
  }

  drop(): void {
    if (this.large) this.pool.drop(this.id);
    this.acked(Infinity);
  }
}
