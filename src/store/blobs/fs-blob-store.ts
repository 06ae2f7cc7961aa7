// Blob store on a folder (local, or a mount every process shares): <root>/<sha256[0:2]>/<sha256>.
// Writes go under this process's folder in <root>/tmp/ first, are fsynced, then renamed into
// place, so a blob is either whole or absent after a crash.
import { constants, createReadStream } from 'node:fs';
import { access, mkdir, open, opendir, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { storageError } from './storage-error.js';
import { BLOB_NAME, MARKER_NAME, blobKey, type BlobRange, type BlobStore, type BlobWriter } from './blob-store.js';
import { ProcessSpace } from './process-space.js';


/** The folders blobs are spread over: the first two hex digits of their sha256. */
const SHARD = /^[0-9a-f]{2}$/;

export class FsBlobStore implements BlobStore {
  /** This process's folder under <root>/tmp/: on the blobs' filesystem, so commits are renames. */
  private readonly space: ProcessSpace;
  private readonly tmp: string;
  private readonly madeDirs = new Set<string>();

  constructor(
    private readonly root: string,
    processId = `embedded-${randomBytes(4).toString('hex')}`,
  ) {
    this.space = new ProcessSpace(join(root, 'tmp'), processId);
    this.tmp = this.space.dir;
  }

  describe(): string {
    return this.root;
  }

  close(): void {}

  private path(sha256: string): string {
    return join(this.root, blobKey(sha256));
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdir(dir, { recursive: true });
    this.madeDirs.add(dir);
  }

  async create(): Promise<BlobWriter> {
    // Spread over 16 folders: creating a file locks its folder, and with every upload creating its
    // file in one folder, the thread pool spent a tenth of the server's CPU spinning on that lock.
    const name = randomBytes(12).toString('hex');
    const dir = join(this.tmp, name.slice(0, 1));
    const tmpPath = join(dir, name);
    let fh: FileHandle;
    try {
      await this.ensureDir(dir);
      fh = await open(tmpPath, 'wx');
    } catch (e) {
      throw storageError(await this.writeProbe(e), 'store the file');
    }
    return new FsBlobWriter(fh, tmpPath, (sha) => this.path(sha), (d) => this.ensureDir(d));
  }

  /** A recursive mkdir on a read-only filesystem reports ENOENT; find the real cause. */
  private async writeProbe(err: unknown): Promise<unknown> {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') return err;
    return access(this.root, constants.W_OK).then(
      () => err,
      (probe: unknown) => probe,
    );
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.localPath(sha256)) !== null;
  }

  async delete(sha256: string): Promise<void> {
    if (!BLOB_NAME.test(sha256)) return;
    await rm(this.path(sha256), { force: true });
  }

  knownPath(sha256: string): string | null {
    return BLOB_NAME.test(sha256) ? this.path(sha256) : null;
  }

  async localPath(sha256: string): Promise<string | null> {
    if (!BLOB_NAME.test(sha256)) return null;
    const p = this.path(sha256);
    try {
      return (await stat(p)).isFile() ? p : null;
    } catch {
      return null;
    }
  }

  async read(sha256: string, range?: BlobRange): Promise<Readable | null> {
    const p = await this.localPath(sha256);
    return p ? createReadStream(p, range ? { start: range.start, end: range.end } : {}) : null;
  }

  async scratchDir(): Promise<string> {
    // In this process's folder under tmp/: on the blobs' filesystem (adopting is a rename), and
    // removed by a sweep once this process is gone.
    return join(this.tmp, `x-${randomBytes(12).toString('hex')}`);
  }

  async adopt(files: readonly { path: string; sha256: string }[]): Promise<void> {
    const dirs = new Set<string>();
    try {
      // fsync side by side: the filesystem folds concurrent syncs into few journal commits,
      // which matters for the thousand small files of one archive.
      await inBatches(files, ADOPT_CONCURRENCY, async (f) => {
        if (!BLOB_NAME.test(f.sha256)) throw new Error(`not a sha256: ${f.sha256}`);
        if (await this.has(f.sha256)) return rm(f.path, { force: true });
        await syncPath(f.path);
        const dest = this.path(f.sha256);
        const dir = dest.slice(0, dest.lastIndexOf('/'));
        await this.ensureDir(dir);
        await rename(f.path, dest);
        dirs.add(dir);
      });
      await inBatches([...dirs], ADOPT_CONCURRENCY, syncPath);
    } catch (e) {
      throw storageError(e, 'store unpacked files');
    }
  }

  async dropScratch(dir: string): Promise<void> {
    if (!dir.startsWith(this.tmp + '/')) throw new Error(`not a scratch folder: ${dir}`);
    await rm(dir, { recursive: true, force: true });
  }

  async check(): Promise<void> {
    try {
      await access(this.root, constants.W_OK);
    } catch (e) {
      throw storageError(e, 'reach the blob folder');
    }
  }

  async sweep(live: ReadonlySet<string>): Promise<void> {
    await this.space.sweep(live);
  }

  async *list(): AsyncIterable<string> {
    // opendir reads a folder in pieces: a shard of a large store holds tens of thousands of names.
    // Only <2 hex>/<sha256> files count: tmp/ (blobs being written, scratch) and the marker do not.
    for await (const shard of await opendir(this.root)) {
      if (!shard.isDirectory() || !SHARD.test(shard.name)) continue;
      for await (const e of await opendir(join(this.root, shard.name))) {
        if (e.isFile() && BLOB_NAME.test(e.name) && blobKey(e.name) === `${shard.name}/${e.name}`) yield e.name;
      }
    }
  }

  async readMarker(): Promise<string | null> {
    try {
      return (await readFile(join(this.root, MARKER_NAME), 'utf8')).trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw storageError(e, 'read the deployment marker');
    }
  }

  async writeMarker(token: string): Promise<void> {
    try {
      await mkdir(this.root, { recursive: true });
      await writeFile(join(this.root, MARKER_NAME), token + '\n');
    } catch (e) {
      throw storageError(await this.writeProbe(e), 'write the deployment marker');
    }
  }
}

class FsBlobWriter implements BlobWriter {
  private done = false;
  private synced: Promise<void> | null = null;

  constructor(
    private readonly fh: FileHandle,
    private readonly tmpPath: string,
    private readonly finalPath: (sha256: string) => string,
    private readonly ensureDir: (dir: string) => Promise<void>,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    try {
      await this.fh.write(chunk);
    } catch (e) {
      throw storageError(e, 'store the file');
    }
  }

  get localPath(): string {
    return this.tmpPath;
  }

  flush(): Promise<void> {
    this.synced ??= this.fh.sync().catch((e: unknown) => {
      throw storageError(e, 'store the file');
    });
    return this.synced;
  }

  async commit(sha256: string): Promise<void> {
    if (!BLOB_NAME.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    try {
      await this.flush();
      await this.fh.close();
      this.done = true;
      const dest = this.finalPath(sha256);
      const dir = dest.slice(0, dest.lastIndexOf('/'));
      await this.ensureDir(dir);
      // Same content renamed over same content is harmless; rename is atomic.
      await rename(this.tmpPath, dest);
      await syncPath(dir);
    } catch (e) {
      await this.abort();
      throw storageError(e, 'store the file');
    }
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.tmpPath, { force: true }).catch(() => undefined);
  }
}

const ADOPT_CONCURRENCY = 32;

async function inBatches<T>(items: readonly T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** fsync a file, or a directory so that a rename inside it survives power loss. */
async function syncPath(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
