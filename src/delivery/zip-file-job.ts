// The `zip-file` job: builds a ZIP file (zip-files.ts). The stored files asked for are gathered
// in a scratch folder (hard links where the blob store is on the same disk), 7-Zip packs them on
// an analysis thread (extraction/zip-writer.ts), and the ZIP becomes a blob. Its row is ended,
// its password forgotten and the job removed in one transaction: a crash before that builds the
// ZIP again. Each run first removes ZIP files older than zipFileRetention.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, link, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { JobHandler } from '../jobs/job-runner.js';
import { rawError } from '../jobs/job-failure.js';
import type { ZipWriteResult, ZipWriteTask } from '../extraction/zip-writer.js';
import { ZIP_FILE_LANE, type ZipFileRecord } from '../model/zip-file.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { Job, Store } from '../store/store.js';
import type { WorkerPool } from '../threads/worker-pool.js';

export interface ZipFileJobOptions {
  /** Seconds a ZIP file is kept once it ended. */
  retentionSeconds: number;
  /** How long 7-Zip may take to pack one ZIP file. */
  timeoutMs: number;
}

/** Gathering the files is this share of the progress; packing them, the rest. */
const GATHERED = 50;
/** Progress is recorded at most this often (each record is a write). */
const PROGRESS_MS = 1000;
/** Expired ZIP files removed per run at most (the next run takes the rest). */
const SWEEP_BATCH = 100;

const now = () => Math.floor(Date.now() / 1000);

export class ZipFileJob implements JobHandler {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: WorkerPool,
    private readonly opts: ZipFileJobOptions,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    await this.sweep(log);
    const id = String(job.payload.zipFileId);
    const zip = await this.store.getZipFile(id);
    // Deleted (expired) meanwhile, or ended by an earlier run whose job removal was lost.
    if (!zip || (zip.status !== 'starting' && zip.status !== 'creating')) return void await this.store.deleteJob(job.id);
    const dir = await this.blobs.scratchDir();
    try {
      await this.build(job, zip, dir, log);
    } finally {
      await this.blobs.dropScratch(dir);
    }
  }

  /** Failed every attempt (7-Zip kept failing, the disk is full): the owner sees error-creating. */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    const id = String(job.payload.zipFileId);
    const zip = await this.store.getZipFile(id);
    log.error({ err, zipFile: id }, 'ZIP file could not be built');
    await this.store.finishZipFile(id, job.id, {
      status: 'error-creating', error: 'the ZIP file could not be built', filesOk: zip?.filesOk ?? 0, filesError: zip?.filesError ?? 0,
    }, now());
  }

  private async build(job: Job, zip: ZipFileRecord, dir: string, log: Logger): Promise<void> {
    const inDir = join(dir, 'files');
    await mkdir(inDir, { recursive: true });
    const files: string[] = [];
    let filesError = 0;
    let recorded = Date.now();
    for (const [i, hash] of zip.hashes.entries()) {
      const f = await this.store.getFile(hash);
      const path = f ? await this.blobs.localPath(f.sha256) : null;
      const entry = f ? join(inDir, f.sha256) : '';
      if (!f || !path) filesError++;
      // Two hashes of one file (its MD5 and its SHA-256) put it in once.
      else if (!files.includes(entry)) {
        await link(path, entry).catch(() => copyFile(path, entry));
        files.push(entry);
      }
      if (Date.now() - recorded >= PROGRESS_MS) {
        recorded = Date.now();
        await this.store.recordZipFileProgress(zip.id, { progress: (GATHERED * (i + 1)) / zip.hashes.length, filesOk: files.length, filesError });
      }
    }
    const counts = { filesOk: files.length, filesError };
    if (files.length === 0) {
      return this.store.finishZipFile(zip.id, job.id, { status: 'error-creating', error: 'none of the files asked for is stored', ...counts }, now());
    }
    await this.store.recordZipFileProgress(zip.id, { progress: GATHERED, ...counts });
    const out = join(dir, 'zip-file.zip');
    const task: ZipWriteTask = { kind: 'zip-write', out, files, password: zip.password };
    // Background work nobody's upload waits for: a lane of its own, one thread at most.
    const failed = await this.pool.run<ZipWriteResult>(task, [], { lane: ZIP_FILE_LANE, maxRunning: 1, background: true, heavy: true, timeoutMs: this.opts.timeoutMs });
    // A throw retries the job (a full disk may have room later); its last failure is giveUp's.
    if (failed) throw new Error(`7-Zip could not write the ZIP: ${failed.error}`);
    const sha256 = await sha256Of(out);
    const { size } = await stat(out);
    await this.blobs.adopt([{ path: out, sha256 }]);
    await this.store.finishZipFile(zip.id, job.id, { status: 'finished', blob: sha256, size, ...counts }, now());
    log.info({ zipFile: zip.id, files: files.length, missing: filesError, size }, 'ZIP file built');
  }

  /** Removes ZIP files that ended more than retentionSeconds ago, and their blobs. */
  private async sweep(log: Logger): Promise<void> {
    try {
      for (const z of await this.store.listEndedZipFiles(now() - this.opts.retentionSeconds, SWEEP_BATCH)) {
        // The row first: a crash between the two leaves an unreferenced blob, never a row without its ZIP.
        const blob = await this.store.deleteZipFile(z.id);
        if (blob) await this.blobs.delete(blob);
      }
    } catch (err) {
      log.warn({ err: rawError(err) }, 'removing expired ZIP files failed; the next ZIP file tries again');
    }
  }
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}
