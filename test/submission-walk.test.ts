// SubmissionWalk when unpacking fails outside the extractors' own error handling: the worker
// crashes, or overruns the task's deadline. The container's analysis stands, the failure is in
// its bundle_info.error, and what was written before the fault is removed.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { SubmissionWalk } from '../src/extraction/submission-walk.js';
import { WorkerPool } from '../src/threads/worker-pool.js';
import { FsBlobStore } from '../src/store/blobs/fs-blob-store.js';
import { makeArchive } from './helpers/archives.js';

describe('SubmissionWalk, unpacking that fails', () => {
  let dir: string;
  let pool: WorkerPool;
  let blobs: FsBlobStore;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-walk-'));
    pool = new WorkerPool({ script: new URL('./fixtures/walk-test-worker.js', import.meta.url), size: 1, taskTimeoutMs: 10_000 });
    blobs = new FsBlobStore(join(dir, 'blobs'), 'walker');
  });
  after(async () => {
    await pool.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const walk = async (name: string, analysisTimeoutMs: number) => {
    const path = join(dir, name);
    writeFileSync(path, await makeArchive('zip', { 'a.txt': 'inside' }));
    const w = new SubmissionWalk(
      { pool, blobs, store: { getFiles: async () => [], listIndexedFiles: async () => [] }, hunter: null, snap: null, log: pino({ level: 'silent' }), lane: 'user:1' },
      { limits: { maxDepth: 3, maxFiles: 100, maxBytes: 1 << 20, maxRatio: 100, timeoutMs: 1000, passwords: [] }, analysisTimeoutMs },
      null,
    );
    return w.run({ path, sha256: 'a'.repeat(64), size: 1, name }, null);
  };

  it('records a crashed unpacking in bundle_info and keeps the analysis', async () => {
    const r = await walk('crash.zip', 5000);
    assert.equal(r.analysis.typeTag, 'zip');
    assert.equal(r.analysis.bundleInfo?.type, 'ZIP');
    assert.equal(r.analysis.bundleInfo?.num_children, 0);
    assert.match(r.analysis.bundleInfo?.error ?? '', /^ZIP unpacking failed: worker thread crashed/);
    assert.deepEqual(r.subfiles, []);
    assert.deepEqual(readdirSync(join(dir, 'blobs', 'tmp', 'p-walker')), [], 'the partial files are gone');
  });

  it('records an unpacking past its deadline the same way', async () => {
    const r = await walk('hang.zip', 500);
    assert.match(r.analysis.bundleInfo?.error ?? '', /^ZIP unpacking failed: task did not finish within 1500 ms/);
    assert.deepEqual(readdirSync(join(dir, 'blobs', 'tmp', 'p-walker')), [], 'the partial files are gone');
  });
});
