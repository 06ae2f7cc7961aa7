// A bounded local cache of blobs kept in object storage: analysis, unpacking and YARA need a file
// on disk, and a blob scanned once is often read again soon (a late scan, an archive's members).
// Least recently used first out; one download per blob however many ask at once.
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { blobKey } from './blob-store.js';

/**
 * Entries used within this long are never evicted, even over the bound: the path handed out may
 * still be opened by an analysis (which may take minutes). The bound is exceeded by at most what
 * was used that recently.
 */
const MIN_AGE_MS = 5 * 60_000;

interface Entry {
  size: number;
  usedAt: number;
}

export class BlobCache {
  /** In least recently used order (a Map iterates in insertion order; a use re-inserts). */
  private readonly entries = new Map<string, Entry>();
  private readonly downloads = new Map<string, Promise<string | null>>();
  private bytes = 0;
  private seq = 0;

  constructor(
    private readonly dir: string,
    private readonly maxBytes: number,
    private readonly minAgeMs = MIN_AGE_MS,
  ) {}

  private path(sha256: string): string {
    return join(this.dir, blobKey(sha256));
  }

  /** The cached path, or null (without fetching). */
  peek(sha256: string): string | null {
    const e = this.entries.get(sha256);
    if (!e) return null;
    this.entries.delete(sha256);
    e.usedAt = Date.now();
    this.entries.set(sha256, e);
    return this.path(sha256);
  }

  /**
   * The cached path, fetching it first with `fetch(tmpPath)` (which writes the blob there and
   * resolves false when the blob does not exist) when absent.
   */
  async get(sha256: string, fetch: (tmpPath: string) => Promise<boolean>): Promise<string | null> {
    const hit = this.peek(sha256);
    if (hit) return hit;
    let pending = this.downloads.get(sha256);
    if (!pending) {
      pending = this.download(sha256, fetch).finally(() => this.downloads.delete(sha256));
      this.downloads.set(sha256, pending);
    }
    return pending;
  }

  private async download(sha256: string, fetch: (tmpPath: string) => Promise<boolean>): Promise<string | null> {
    await mkdir(join(this.dir, 'incoming'), { recursive: true });
    const tmp = join(this.dir, 'incoming', `${sha256}.${++this.seq}`);
    try {
      if (!(await fetch(tmp))) return null;
      return await this.adopt(sha256, tmp);
    } finally {
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }

  /** Moves a local file of this content (on the cache's filesystem) into the cache. */
  async adopt(sha256: string, from: string): Promise<string> {
    const dest = this.path(sha256);
    if (this.entries.has(sha256)) {
      await rm(from, { force: true });
      return this.peek(sha256)!;
    }
    const { size } = await stat(from);
    await mkdir(dirname(dest), { recursive: true });
    await rename(from, dest);
    this.entries.set(sha256, { size, usedAt: Date.now() });
    this.bytes += size;
    await this.evict();
    return dest;
  }

  /** Forgets a blob (deleted from its store) and removes its copy. */
  async remove(sha256: string): Promise<void> {
    const e = this.entries.get(sha256);
    if (!e) return;
    this.entries.delete(sha256);
    this.bytes -= e.size;
    await rm(this.path(sha256), { force: true });
  }

  private async evict(): Promise<void> {
    if (this.bytes <= this.maxBytes) return;
    const now = Date.now();
    for (const [sha, e] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      // Least recently used first: once one is too young to go, so are all after it.
      if (now - e.usedAt < this.minAgeMs) break;
      this.entries.delete(sha);
      this.bytes -= e.size;
      await rm(this.path(sha), { force: true }).catch(() => undefined);
    }
  }

  get size(): { files: number; bytes: number } {
    return { files: this.entries.size, bytes: this.bytes };
  }
}
