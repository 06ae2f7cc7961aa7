// Blob store on S3-compatible object storage (AWS S3, MinIO, Ceph RGW...): objects
// <prefix><sha256[0:2]>/<sha256>, written once and never changed. What analysis needs on disk
// (uploads being received, unpacked members, blobs to scan) lives in this process's own local
// folder; blobs read for scanning are kept in a bounded cache there.
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { TrawlError, transient } from '../../model/errors.js';
import { BlobCache } from './blob-cache.js';
import { BLOB_NAME, MARKER_NAME, blobKey, type BlobRange, type BlobStore, type BlobWriter } from './blob-store.js';
import { storageError } from './storage-error.js';
import { ProcessSpace } from './process-space.js';

/** Blobs from this size up go as multipart uploads (a single PUT takes up to 5 GB). */
const MULTIPART_BYTES = 64 * 1024 * 1024;
/** Parts of a multipart upload: S3's minimum is 5 MiB; larger parts mean fewer requests. */
const PART_BYTES = 16 * 1024 * 1024;
/** Blobs at least this large are looked up before they are sent (a duplicate is not sent again). */
const LOOK_FIRST_BYTES = 1024 * 1024;
/** Members of one archive uploaded side by side. */
const ADOPT_CONCURRENCY = 16;

export interface S3Location {
  bucket: string;
  /** Key prefix, '' or ending in '/'. */
  prefix: string;
}

/** Parses `s3://bucket[/prefix]`. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new Error(`not an s3://bucket[/prefix] URL: ${url}`);
  const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  return { bucket: m[1]!, prefix: prefix ? `${prefix}/` : '' };
}

export interface S3BlobStoreOptions extends S3Location {
  /** Endpoint URL for S3-compatible servers (MinIO, Ceph); empty for AWS. */
  endpoint: string;
  /** Empty: us-east-1 (config.ts has already looked in AWS_REGION). */
  region: string;
  /** Path-style addressing (bucket in the path): MinIO and Ceph need it. */
  pathStyle: boolean;
  /** Static credentials; null: the SDK's default chain (AWS_* variables, shared files, instance roles). */
  credentials: { accessKeyId: string; secretAccessKey: string } | null;
  /** This process's local folder: uploads being received, scratch and the cache. */
  space: ProcessSpace;
  cacheBytes: number;
  /** Least time a cached blob stays (tests lower it). */
  cacheMinAgeMs?: number;
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly cache: BlobCache;
  private readonly space: ProcessSpace;

  constructor(opts: S3BlobStoreOptions) {
    this.bucket = opts.bucket;
    this.prefix = opts.prefix;
    this.space = opts.space;
    this.cache = new BlobCache(join(opts.space.dir, 'cache'), opts.cacheBytes, opts.cacheMinAgeMs);
    const agent = { keepAlive: true, maxSockets: 64 };
    const config: S3ClientConfig = {
      region: opts.region || 'us-east-1',
      forcePathStyle: opts.pathStyle,
      // Checksums only where S3 requires them: the newer default (a CRC trailer on every
      // upload, aws-chunked) is not understood by many S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { httpAgent: new HttpAgent(agent), httpsAgent: new HttpsAgent(agent), connectionTimeout: 5_000, requestTimeout: 120_000 },
      maxAttempts: 4,
    };
    if (opts.endpoint) config.endpoint = opts.endpoint;
    if (opts.credentials) config.credentials = opts.credentials;
    this.client = new S3Client(config);
  }

  private key(sha256: string): string {
    return this.prefix + blobKey(sha256);
  }

  /** Where this store's blobs are, for messages. */
  describe(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async create(): Promise<BlobWriter> {
    const path = join(this.space.dir, 'incoming', randomBytes(12).toString('hex'));
    let fh: FileHandle;
    try {
      await mkdir(join(this.space.dir, 'incoming'), { recursive: true });
      fh = await open(path, 'wx');
    } catch (e) {
      throw storageError(e, 'store the file');
    }
    return new S3BlobWriter(this, fh, path);
  }

  async has(sha256: string): Promise<boolean> {
    if (!BLOB_NAME.test(sha256)) return false;
    if (this.cache.peek(sha256)) return true;
    return this.exists(this.key(sha256));
  }

  private async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (e) {
      if (isNotFound(e)) return false;
      throw s3Error(e, 'look up a file');
    }
  }

  async read(sha256: string, range?: BlobRange): Promise<Readable | null> {
    if (!BLOB_NAME.test(sha256)) return null;
    const cached = this.cache.peek(sha256);
    if (cached) return createReadStream(cached, range ? { start: range.start, end: range.end } : {});
    try {
      const out = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: this.key(sha256), ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }));
      return out.Body as Readable;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw s3Error(e, 'read a file');
    }
  }

  async delete(sha256: string): Promise<void> {
    if (!BLOB_NAME.test(sha256)) return;
    await this.cache.remove(sha256);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(sha256) }));
    } catch (e) {
      if (!isNotFound(e)) throw s3Error(e, 'delete a blob');
    }
  }

  /** Blobs are in the bucket: a local copy is localPath's to fetch. */
  knownPath(): null {
    return null;
  }

  async localPath(sha256: string): Promise<string | null> {
    if (!BLOB_NAME.test(sha256)) return null;
    return this.cache.get(sha256, async (tmp) => {
      const body = await this.read(sha256);
      if (!body) return false;
      await pipeline(body, createWriteStream(tmp));
      return true;
    }).catch((e: unknown) => {
      throw s3Error(e, 'fetch a file');
    });
  }

  async scratchDir(): Promise<string> {
    return join(this.space.dir, 'scratch', randomBytes(12).toString('hex'));
  }

  async adopt(files: readonly { path: string; sha256: string }[]): Promise<void> {
    for (let i = 0; i < files.length; i += ADOPT_CONCURRENCY) {
      await Promise.all(files.slice(i, i + ADOPT_CONCURRENCY).map((f) => this.store(f.sha256, f.path)));
    }
  }

  /** Uploads a local file as this blob unless it is stored already, then keeps it in the cache. */
  async store(sha256: string, path: string): Promise<void> {
    if (!BLOB_NAME.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    const key = this.key(sha256);
    try {
      // Content-addressed: whoever stored it first stored the same bytes. Looking first costs a
      // request: worth it to spare sending a large blob again, not a small one.
      const { size } = await stat(path);
      const stored = this.cache.peek(sha256) !== null || (size >= LOOK_FIRST_BYTES && (await this.exists(key)));
      if (!stored) await this.send(key, path, size);
    } catch (e) {
      throw s3Error(e, 'store the file');
    }
    await this.cache.adopt(sha256, path).catch(() => rm(path, { force: true }));
  }

  /**
   * One PUT streamed from the file below MULTIPART_BYTES (lib-storage's Upload would copy it into
   * part-sized buffers first: measured, a third more CPU for blobs of about a megabyte), else a
   * multipart upload, parts sent side by side.
   */
  private async send(key: string, path: string, size: number): Promise<void> {
    if (size < MULTIPART_BYTES) {
      await this.client.send(new PutObjectCommand({
        Bucket: this.bucket, Key: key, Body: createReadStream(path), ContentLength: size, ContentType: 'application/octet-stream',
      }));
      return;
    }
    await new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(path), ContentType: 'application/octet-stream' },
      partSize: PART_BYTES,
      queueSize: 4,
      leavePartsOnError: false,
    }).done();
  }

  async dropScratch(dir: string): Promise<void> {
    if (!dir.startsWith(join(this.space.dir, 'scratch') + '/')) throw new Error(`not a scratch folder: ${dir}`);
    await rm(dir, { recursive: true, force: true });
  }

  async sweep(live: ReadonlySet<string>): Promise<void> {
    await this.space.sweep(live);
  }

  async check(): Promise<void> {
    // A lookup of the marker: 200 and 404 both say the bucket answers and lets us in.
    await this.exists(`${this.prefix}${MARKER_NAME}`);
  }

  async *list(): AsyncIterable<string> {
    // Keys <prefix><blobKey> only: a prefix may hold other things (another deployment's prefix
    // nested in this one, the marker), none of which has that shape.
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, ContinuationToken: token }));
      } catch (e) {
        throw s3Error(e, 'list the stored files');
      }
      for (const o of page.Contents ?? []) {
        const key = o.Key?.slice(this.prefix.length) ?? '';
        const name = key.slice(3);
        if (BLOB_NAME.test(name) && blobKey(name) === key) yield name;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async readMarker(): Promise<string | null> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${MARKER_NAME}` }));
      return (await out.Body!.transformToString()).trim();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw s3Error(e, 'read the deployment marker');
    }
  }

  async writeMarker(token: string): Promise<void> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: `${this.prefix}${MARKER_NAME}`, Body: token }));
    } catch (e) {
      throw s3Error(e, 'write the deployment marker');
    }
  }

  close(): void {
    this.client.destroy();
  }
}

class S3BlobWriter implements BlobWriter {
  private done = false;

  constructor(
    private readonly store: S3BlobStore,
    private readonly fh: FileHandle,
    readonly localPath: string,
  ) {}

  async write(chunk: Buffer): Promise<void> {
    try {
      await this.fh.write(chunk);
    } catch (e) {
      throw storageError(e, 'store the file');
    }
  }

  /** Nothing to do ahead: the bytes are durable once the object storage has them, at commit. */
  async flush(): Promise<void> {}

  async commit(sha256: string): Promise<void> {
    try {
      this.done = true;
      await this.fh.close();
      await this.store.store(sha256, this.localPath);
    } catch (e) {
      await this.abort();
      throw e instanceof TrawlError ? e : storageError(e, 'store the file');
    }
  }

  async abort(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.fh.close().catch(() => undefined);
    }
    await rm(this.localPath, { force: true }).catch(() => undefined);
  }
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err.name === 'NotFound' || err.name === 'NoSuchKey' || err.$metadata?.httpStatusCode === 404;
}

/** An object storage failure as clients should see it: retry later, with no credentials or URLs. */
function s3Error(e: unknown, action: string): TrawlError {
  if (e instanceof TrawlError) return e;
  const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const why = err.$metadata?.httpStatusCode ? `${err.name ?? 'error'} (HTTP ${err.$metadata.httpStatusCode})` : (err.code ?? err.name ?? 'error');
  return transient(`object storage failed (${why}): cannot ${action}`);
}

