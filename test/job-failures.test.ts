// Failures that show: an analysis that cannot run (its blob deleted behind the service's back)
// reads as failed in VirusTotal's vocabulary, its file says why, the job is kept, and
// `trawl jobs retry` runs it again once the blob is back, clearing the failure; `trawl submit
// --wait` reports such a failure.
// An API-only service takes the upload; a worker-only one on the same SQLite database starts
// after the blob is gone, so the analysis cannot run before it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Writable } from 'node:stream';
import { submitCommand } from '../src/cli/submit.js';
import { loadConfig } from '../src/config.js';
import { startService, type Service } from '../src/main.js';
import { api, fileForm, pollUntil, runCli, startTestService, type TestService } from './helpers/service.js';

describe('an analysis whose job cannot run', () => {
  let dir: string;
  let front: TestService;
  let worker: Service | null = null;
  const content = `failures that show ${Date.now()}\n`;
  const sha256 = createHash('sha256').update(content).digest('hex');
  const blobOf = (sha: string) => join(dir, 'blobs', sha.slice(0, 2), sha);
  const blob = () => blobOf(sha256);
  const analysis = (id: string) => api(front.url, front.adminKey, 'GET', `/api/v3/analyses/${id}`);
  const file = () => api(front.url, front.adminKey, 'GET', `/api/v3/files/${sha256}`);
  const trawl = (...args: string[]) => runCli([...args, '--data-dir', dir]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trawl-failures-'));
    front = await startTestService({ role: 'api', dataDir: dir });
  });
  after(async () => {
    await worker?.close();
    await front.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('fails with the reason, keeps the job, and completes normally once retried with its blob back', async () => {
    const up = await api(front.url, front.adminKey, 'POST', '/api/v3/files', fileForm(content, 'note.txt'));
    assert.equal(up.status, 200);
    const id = up.body.data.id as string;
    assert.equal((await analysis(id)).body.data.attributes.status, 'queued');
    await rm(blob());
    // `trawl submit --wait` of another file whose blob goes too: it reports the failure.
    const other = join(dir, 'other.txt');
    await writeFile(other, `${content} (other)`);
    const otherSha = createHash('sha256').update(`${content} (other)`).digest('hex');
    let submitErr = '';
    const capture = new Writable({ write: (c, _e, cb) => void ((submitErr += String(c)), cb()) });
    const submitted = submitCommand([other], {
      config: { url: front.url, apikey: front.adminKey }, wait: true, concurrency: 1, out: new Writable({ write: (_c, _e, cb) => cb() }), err: capture, pollIntervalMs: 100,
    });
    // The blob is committed before the upload's file is recorded.
    await pollUntil('the other upload is recorded', () => api(front.url, front.adminKey, 'GET', `/api/v3/files/${otherSha}`), (r) => r.status === 200, 10_000);
    await rm(blobOf(otherSha));

    worker = await startService(loadConfig({
      env: {},
      flags: { dataDir: dir, role: 'worker', workers: '1', logLevel: 'silent', jobMaxAttempts: '2', jobRetryDelayMs: '50', rulesCompileWaitMs: '600000' },
    }));
    const failed = (await pollUntil('the analysis fails', () => analysis(id), (r) => r.body.data.attributes.trawl_status === 'failed', 30_000)).body.data.attributes;
    const message = "the file's contents are missing from the blob store";
    // Terminal for VirusTotal clients (they poll until `completed`), and a failure in their vocabulary.
    assert.equal(failed.status, 'completed');
    assert.deepEqual(failed.error, { code: 'content_missing', message });
    assert.deepEqual(failed.results, { Trawl: { category: 'failure', engine_name: 'Trawl', method: 'blacklist', result: message } });
    assert.equal(failed.stats.failure, 1);
    assert.equal(failed.stats.undetected, 0);
    assert.ok(!JSON.stringify(failed).includes(dir), 'no server path on the wire');

    const f = (await file()).body.data.attributes;
    assert.equal(f.trawl_analysis_error.code, 'content_missing');
    assert.equal(f.trawl_analysis_error.message, message);
    assert.equal(typeof f.trawl_analysis_error.date, 'number');
    assert.equal(f.last_analysis_stats.failure, 1);
    assert.equal(f.last_analysis_results.Trawl.category, 'failure');
    assert.equal(f.type_description, undefined, 'never typed `unknown`: no analysis happened');
    assert.equal(f.last_analysis_date, undefined);

    assert.equal(await submitted, 1, 'trawl submit --wait fails');
    assert.match(submitErr, /other\.txt: analysis \S+ failed: the file's contents are missing from the blob store/);
    assert.match(submitErr, /0 of 1 analyses completed/);

    assert.equal(await front.store.countFailedJobs('analyze'), 2);
    assert.equal(await front.store.pendingJobs(), 0);
    const listed = await trawl('jobs', 'list', '--failed');
    assert.equal(listed.code, 0, listed.err);
    const lines = listed.out.trim().split('\n');
    assert.equal(lines.length, 2);
    const line = lines.find((l) => l.includes(sha256));
    const [jobId, kind, attempts, , subject, error] = line!.split('\t');
    assert.equal(kind, 'analyze');
    assert.equal(attempts, '2');
    assert.equal(subject, `analysis ${id} sha256 ${sha256}`);
    assert.match(error!, /MissingBlobError: blob [0-9a-f]{64} is missing/, 'the raw error is kept for the operator');
    assert.match((await trawl('jobs', 'list')).out, /^pending\t0\nfailed\t2\n$/);

    const unknown = await trawl('jobs', 'retry', '999999');
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /job 999999 is not a failed job/);
    assert.equal((await trawl('jobs', 'retry')).code, 2, 'retry needs --all or ids');

    await mkdir(join(dir, 'blobs', sha256.slice(0, 2)), { recursive: true });
    await writeFile(blob(), content);
    const retried = await trawl('jobs', 'retry', jobId!);
    assert.equal(retried.code, 0, retried.err);
    assert.match(retried.err, /queued 1 failed job again/);

    const done = (await pollUntil('the retried analysis completes', () => analysis(id), (r) => r.body.data.attributes.trawl_status === 'completed', 30_000)).body.data.attributes;
    assert.equal(done.status, 'completed');
    assert.deepEqual(done.results, {});
    assert.equal(done.stats.failure, 0);
    assert.equal(done.error, undefined);
    const g = (await file()).body.data.attributes;
    assert.equal(g.trawl_analysis_error, undefined, 'a successful analysis clears the failure');
    assert.deepEqual(g.last_analysis_results, {});
    assert.equal(g.last_analysis_stats.failure, 0);
    assert.equal(typeof g.type_description, 'string');
    assert.notEqual(g.type_description, 'unknown');
    assert.equal(typeof g.last_analysis_date, 'number');
    assert.equal(await front.store.countFailedJobs(), 1, 'the job not retried stays failed');
    assert.match((await trawl('jobs', 'list', '--failed')).out, new RegExp(`^\\d+\tanalyze\t2\t\\S+\tanalysis \\S+ sha256 ${otherSha}\t`));
  });
});
