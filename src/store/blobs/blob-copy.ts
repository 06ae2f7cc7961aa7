// Copying every blob of one store into another (trawl migrate: a blob folder to S3-compatible
// storage, or between any two stores). Blobs are content-addressed, so one the target holds
// already is skipped: a copy cut short is resumed by running it again. What is read is hashed on
// its way and committed only when it matches its name, so a damaged blob is never spread.
import { createHash } from 'node:crypto';
import type { BlobStore } from './blob-store.js';

export interface BlobCopyProgress {
  /** Blobs in the source. */
  total: number;
  /** Copied by this run. */
  copied: number;
  /** Held by the target already. */
  present: number;
  /** Not copied: see BlobCopyResult.failures. */
  failed: number;
  /** Bytes copied by this run. */
  bytes: number;
}

export interface BlobCopyResult extends BlobCopyProgress {
  failures: { sha256: string; reason: string }[];
}

export interface BlobCopyOptions {
  /** Blobs copied at once: object storage answers each request in milliseconds, so many overlap. */
  concurrency: number;
  /** Called after every blob (copied, skipped or failed), and once after counting. */
  onProgress?(p: BlobCopyProgress): void;
}

/** At most this many failures are kept to report (every one is counted). */
const MAX_REPORTED = 100;

/** Copies every committed blob of `from` that `to` lacks; failures are returned, not thrown, so that one bad blob stops no other. */
export async function copyBlobs(from: BlobStore, to: BlobStore, opts: BlobCopyOptions): Promise<BlobCopyResult> {
  // Counted in a pass of its own so that progress has a total: listing is cheap beside copying,
  // and holding every name of a large store in memory is not.
  let total = 0;
  for await (const _ of from.list()) total++;
  const p: BlobCopyResult = { total, copied: 0, present: 0, failed: 0, bytes: 0, failures: [] };
  opts.onProgress?.(p);
  // An async generator hands each name to one caller, however many call next() at once.
  const names = from.list()[Symbol.asyncIterator]();
  const worker = async () => {
    for (let n = await names.next(); !n.done; n = await names.next()) {
      const sha256 = n.value;
      try {
        if (await to.has(sha256)) p.present++;
        else {
          p.bytes += await copyOne(from, to, sha256);
          p.copied++;
        }
      } catch (e) {
        p.failed++;
        if (p.failures.length < MAX_REPORTED) p.failures.push({ sha256, reason: (e as Error).message });
      }
      opts.onProgress?.(p);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.concurrency) }, worker));
  return p;
}

/** Copies one blob, verifying its sha256; resolves to its size. */
async function copyOne(from: BlobStore, to: BlobStore, sha256: string): Promise<number> {
  const body = await from.read(sha256);
  if (!body) throw new Error('listed but no longer in the source');
  const writer = await to.create();
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      hash.update(b);
      size += b.length;
      await writer.write(b);
    }
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new Error(`its content in the source is damaged (sha256 ${actual}): not copied`);
    await writer.commit(sha256);
    return size;
  } catch (e) {
    body.destroy();
    await writer.abort();
    throw e;
  }
}
