// The `zip-file` job on real parts (SQLite store, folder blob store, an analysis thread running
// 7-Zip): a second run of a finished job changes nothing, ZIP files past their retention go with
// their blobs, and a job given up on ends error-creating.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ZipFileJob } from '../src/delivery/zip-file-job.js';
import { analysisWorkerScript } from '../src/jobs/analysis-worker.js';
import { FsBlobStore } from '../src/store/blobs/fs-blob-store.js';
import { openStore } from '../src/store/open-store.js';
import type { Job, Store } from '../src/store/store.js';
import { WorkerPool } from '../src/threads/worker-pool.js';
import { submission } from './helpers/store-contract.js';

const log = pino({ level: 'silent' });
const CONTENT = 'bytes of a stored file';
const SHA256 = createHash('sha256').update(CONTENT).digest('hex');

describe('the zip-file job', () => {
  let dir: string;
  let store: Store;
  let blobs: FsBlobStore;
  let pool: WorkerPool;

  /** Queues a ZIP file of the stored file and returns it with its claimed job. */
  const queue = async () => {
    const zip = await store.createZipFile({ ownerId: 1, hashes: [SHA256], password: 'infected', creationDate: Math.floor(Date.now() / 1000) });
    const job = (await store.claimJobs('test', 10, 60_000)).find((j) => j.payload.zipFileId === zip.id) as Job;
    return { zip, job };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-zip-job-'));
    store = await openStore(`sqlite:${join(dir, 'trawl.db')}`);
    blobs = new FsBlobStore(join(dir, 'blobs'), 'test');
    pool = new WorkerPool({ script: analysisWorkerScript, size: 1, taskTimeoutMs: 60_000 });
    await store.addSubmission(submission(CONTENT));
    const w = await blobs.create();
    await w.write(Buffer.from(CONTENT));
    await w.commit(SHA256);
    // The submission's analysis is not this test's: drop it.
    for (const j of await store.claimJobs('test', 10, 60_000)) await store.deleteJob(j.id);
  });
  after(async () => {
    await pool?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('builds a ZIP once: running its job again leaves it as it is', async () => {
    const job = new ZipFileJob(store, blobs, pool, { retentionSeconds: 3600, timeoutMs: 60_000 });
    const { zip, job: j } = await queue();
    await job.run(j, log);
    const done = await store.getZipFile(zip.id);
    assert.equal(done!.status, 'finished');
    assert.equal(done!.password, null, 'the password is forgotten once built');
    assert.ok(done!.blob && (await blobs.has(done!.blob)));
    // A worker that lost its lease runs the same job again after the first finished it.
    await job.run(j, log);
    assert.deepEqual(await store.getZipFile(zip.id), done);
    assert.equal(await store.pendingJobs(), 0);
  });

  it('removes ZIP files past their retention, and their blobs, when the next one is built', async () => {
    const job = new ZipFileJob(store, blobs, pool, { retentionSeconds: 1, timeoutMs: 60_000 });
    const first = await queue();
    await job.run(first.job, log);
    const built = await store.getZipFile(first.zip.id);
    // Ended more than a second ago by the time the next one is built.
    await new Promise((r) => setTimeout(r, 2100));
    const second = await queue();
    await job.run(second.job, log);
    assert.equal(await store.getZipFile(first.zip.id), null);
    const next = await store.getZipFile(second.zip.id);
    assert.equal(next!.status, 'finished');
    // Two ZIPs of the same file differ (each entry's encryption header is random): each had its own blob.
    assert.notEqual(next!.blob, built!.blob);
    assert.equal(await blobs.has(built!.blob!), false, 'the expired ZIP is gone from the blob store');
    assert.equal(await blobs.has(next!.blob!), true);
    assert.equal(await blobs.has(SHA256), true, 'stored files are never touched');
  });

  it('ends a ZIP file error-creating when its job is given up on', async () => {
    const job = new ZipFileJob(store, blobs, pool, { retentionSeconds: 3600, timeoutMs: 60_000 });
    const { zip, job: j } = await queue();
    await job.giveUp(j, new Error('disk full'), log);
    const failed = await store.getZipFile(zip.id);
    assert.equal(failed!.status, 'error-creating');
    assert.equal(failed!.error, 'the ZIP file could not be built');
    assert.equal(failed!.password, null);
    assert.equal(await store.pendingJobs(), 0);
  });
});
