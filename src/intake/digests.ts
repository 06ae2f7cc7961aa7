// md5, sha1 and sha256 of an upload. An upload's first `offloadAfter` bytes are held back: a
// small upload is hashed inline at the end; a larger one is hashed by a digest worker thread
// reading its just-written file back (from the page cache), so the event loop never pays for
// hashing large files. (Hash state cannot cross threads, hence the decision before hashing.)
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { transient } from '../model/errors.js';
import type { DigestReply, DigestRequest } from './digest-worker.js';

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
  private nextId = 1;

  constructor(
    size: number,
    /** Uploads up to this many bytes are hashed inline. */
    readonly offloadAfter = 1024 * 1024,
  ) {
    // --input-type (set by `node -e` callers) is refused by workers started from a file.
    const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
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
    const w = this.waiting.get(m.id);
    this.waiting.delete(m.id);
    if (m.op === 'failed') w?.reject(transient(`hashing failed: ${m.message}`));
    else w?.resolve({ sha256: m.sha256, sha1: m.sha1, md5: m.md5 });
  }

  private failAll(e: Error): void {
    for (const w of this.waiting.values()) w.reject(transient(`hashing failed: ${e.message}`));
    this.waiting.clear();
  }

  /** Starts the digests of one upload; `path`, when given, is where its bytes are written. */
  start(path: string | null): DigestSession {
    return new DigestSession(this, path);
  }

  /** Hashes the file at `path` on a worker thread. */
  hashFile(path: string): Promise<Digests> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.workers.length]!.postMessage({ id, path } satisfies DigestRequest);
    });
  }

  async close(): Promise<void> {
    for (const w of this.workers) w.removeAllListeners('exit');
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** The digests of one upload: update() per chunk in order, then digest() once all bytes are
 * written to `path`. */
export class DigestSession {
  private held: Buffer[] = [];
  private heldBytes = 0;
  private large = false;

  constructor(
    private readonly pool: DigestPool,
    private readonly path: string | null,
  ) {}

  update(chunk: Buffer): void {
    if (this.large) return;
    this.held.push(chunk);
    this.heldBytes += chunk.length;
    if (this.path && this.heldBytes > this.pool.offloadAfter) {
      this.large = true;
      this.held = [];
    }
  }

  digest(): Promise<Digests> {
    return this.large ? this.pool.hashFile(this.path!) : Promise.resolve(digestsOf(this.held));
  }
}
