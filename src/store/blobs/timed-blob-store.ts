// A BlobStore that times every operation of the store it wraps (trawl_blob_operation_duration_seconds),
// whichever store that is: the stores themselves stay free of metrics. Failed operations are
// timed too: a store that fails slowly is what the histogram is for.
import type { Readable } from 'node:stream';
import type { BlobOperation, Metrics } from '../../metrics/metrics.js';
import type { BlobRange, BlobStore, BlobWriter } from './blob-store.js';

export class TimedBlobStore implements BlobStore {
  constructor(
    private readonly inner: BlobStore,
    private readonly metrics: Metrics,
  ) {}

  private async timed<T>(op: BlobOperation, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.metrics.blobOperation(op, performance.now() - started);
    }
  }

  async create(): Promise<BlobWriter> {
    return new TimedBlobWriter(await this.timed('create', () => this.inner.create()), this.metrics);
  }

  has(sha256: string): Promise<boolean> {
    return this.timed('has', () => this.inner.has(sha256));
  }

  /** Times opening the blob, not reading it (the reader's pace is the client's). */
  read(sha256: string, range?: BlobRange): Promise<Readable | null> {
    return this.timed('read', () => this.inner.read(sha256, range));
  }

  delete(sha256: string): Promise<void> {
    return this.timed('delete', () => this.inner.delete(sha256));
  }

  /** No I/O: nothing to time. */
  knownPath(sha256: string): string | null {
    return this.inner.knownPath(sha256);
  }

  localPath(sha256: string): Promise<string | null> {
    return this.timed('local_path', () => this.inner.localPath(sha256));
  }

  /** Not timed: it names a folder and does no I/O. */
  scratchDir(): Promise<string> {
    return this.inner.scratchDir();
  }

  adopt(files: readonly { path: string; sha256: string }[]): Promise<void> {
    return this.timed('adopt', () => this.inner.adopt(files));
  }

  dropScratch(dir: string): Promise<void> {
    return this.timed('drop_scratch', () => this.inner.dropScratch(dir));
  }

  sweep(live: ReadonlySet<string>): Promise<void> {
    return this.timed('sweep', () => this.inner.sweep(live));
  }

  check(): Promise<void> {
    return this.timed('check', () => this.inner.check());
  }

  /** Not timed: a listing is consumed at its reader's pace (trawl migrate), not the store's. */
  list(): AsyncIterable<string> {
    return this.inner.list();
  }

  /** Not timed: once per process start. */
  readMarker(): Promise<string | null> {
    return this.inner.readMarker();
  }

  writeMarker(token: string): Promise<void> {
    return this.inner.writeMarker(token);
  }

  describe(): string {
    return this.inner.describe();
  }

  close(): void {
    this.inner.close();
  }
}

/**
 * Times a writer's flush, commit and abort. Its writes go straight through, untimed: one
 * observation per 64 KB chunk would cost more than it tells; commit carries the fsyncs that matter.
 */
class TimedBlobWriter implements BlobWriter {
  constructor(
    private readonly inner: BlobWriter,
    private readonly metrics: Metrics,
  ) {}

  write(chunk: Buffer): Promise<void> {
    return this.inner.write(chunk);
  }

  get localPath(): string | null {
    return this.inner.localPath;
  }

  private async timed(op: BlobOperation, fn: () => Promise<void>): Promise<void> {
    const started = performance.now();
    try {
      await fn();
    } finally {
      this.metrics.blobOperation(op, performance.now() - started);
    }
  }

  flush(): Promise<void> {
    return this.timed('flush', () => this.inner.flush());
  }

  commit(sha256: string): Promise<void> {
    return this.timed('commit', () => this.inner.commit(sha256));
  }

  abort(): Promise<void> {
    return this.timed('abort', () => this.inner.abort());
  }
}
