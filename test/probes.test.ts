// Health, readiness and Prometheus metrics over real HTTP: answered without an API key, readiness
// failing in VirusTotal's error shape when the blob folder is gone, counters moving with an upload
// and its analysis, the probe listener of a worker process, and the `metrics` setting.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readinessProblems } from '../src/api/routes/probes.js';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/main.js';
import type { BlobStore } from '../src/store/blobs/blob-store.js';
import type { Store } from '../src/store/store.js';
import { api, fileForm, isVtError, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

/**
 * Parses Prometheus text format strictly enough to catch a malformed exposition: every line is a
 * comment or `name{labels} value`. Returns the samples by `name{labels}` as written.
 */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.]+(?:e[+-]?[0-9]+)?|NaN|[+-]Inf)$/;
  for (const line of text.split('\n')) {
    if (line === '' || /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* /.test(line)) continue;
    const m = sample.exec(line);
    assert.ok(m, `not Prometheus text: ${JSON.stringify(line)}`);
    samples.set(m[1]!, Number(m[2]));
  }
  return samples;
}

async function scrape(base: string): Promise<Map<string, number>> {
  const r = await fetch(`${base}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await r.text());
}

/** A port free a moment ago (the probe listener's setting has no "pick one"). */
async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

describe('probes and metrics of a whole service', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService();
  });
  after(async () => s.stop());

  it('answers /health without an API key', async () => {
    const r = await api(s.url, null, 'GET', '/api/v3/health');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.status, 'ok');
    assert.equal(r.body.data.role, 'all');
    assert.equal(typeof r.body.data.version, 'string');
    assert.equal(typeof r.body.data.uptime, 'number');
    assert.equal(r.headers.get('cache-control'), 'no-store');
  });

  it('answers /ready 200 while database and blob store answer, 503 TransientError once the blob folder is gone', async () => {
    const ok = await api(s.url, null, 'GET', '/api/v3/ready');
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.data.status, 'ok');
    // Renamed rather than chmod-ed: tests may run as root, whom permissions do not stop.
    const moved = `${s.config.blobPath}.moved`;
    await rename(s.config.blobPath, moved);
    try {
      const down = await api(s.url, null, 'GET', '/api/v3/ready');
      assert.ok(isVtError(down, 503, 'TransientError'), JSON.stringify(down.body));
      assert.match(down.body.error.message, /^blob store unreachable: /);
      // Liveness is not readiness: the process itself is fine.
      assert.equal((await api(s.url, null, 'GET', '/api/v3/health')).status, 200);
    } finally {
      await rename(moved, s.config.blobPath);
    }
    assert.equal((await api(s.url, null, 'GET', '/api/v3/ready')).status, 200);
  });

  it('serves /metrics as Prometheus text, its counters moving with an upload, its analysis and a match', async () => {
    const rs = await api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', {
      data: { type: 'hunting_ruleset', attributes: { name: 'metrics_probe', enabled: true, rules: 'rule metrics_mark { strings: $a = "METRICS-MARK" condition: $a }' } },
    });
    assert.equal(rs.status, 200, JSON.stringify(rs.body));
    const m0 = await scrape(s.url);
    const v = (m: Map<string, number>, k: string) => m.get(k) ?? 0;
    for (const k of ['trawl_job_queue_depth{kind="analyze"}', 'trawl_job_queue_oldest_age_seconds{kind="analyze"}', 'trawl_jobs_running{kind="analyze"}', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(m0.has(k), `${k} is exposed`);
    }
    assert.ok([...m0.keys()].some((k) => k.startsWith('trawl_build_info{')), 'trawl_build_info');

    const content = Buffer.concat([randomBytes(16), Buffer.from('..METRICS-MARK..'), randomBytes(16)]);
    const up = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await waitForAnalysis(s.url, s.adminKey, up.body.data.id);
    const completed = 'trawl_jobs_finished_total{kind="analyze",outcome="completed"}';
    // The runner counts a job once its handler returned, a moment after the analysis shows completed.
    const m1 = await pollUntil('analyses counted', () => scrape(s.url), (m) => v(m, completed) > v(m0, completed), 5000, 50);
    assert.equal(v(m1, 'trawl_uploads_total') - v(m0, 'trawl_uploads_total'), 1);
    assert.equal(v(m1, 'trawl_upload_bytes_total') - v(m0, 'trawl_upload_bytes_total'), content.length);
    assert.equal(v(m1, completed) - v(m0, completed), 1);
    assert.equal(v(m1, 'trawl_notifications_stored_total') - v(m0, 'trawl_notifications_stored_total'), 1);
    assert.ok(v(m1, 'trawl_scan_duration_seconds_count') > v(m0, 'trawl_scan_duration_seconds_count'), 'the scan was timed');
    assert.ok(v(m1, 'trawl_rule_compiles_total{outcome="ok"}') >= 1, 'the ruleset was compiled');
    for (const op of ['create', 'commit', 'local_path']) {
      const k = `trawl_blob_operation_duration_seconds_count{operation="${op}"}`;
      assert.ok(v(m1, k) > v(m0, k), `${op} was timed`);
    }
  });

  it('reads only the probe routes without a key: the API still asks for one', async () => {
    assert.ok(isVtError(await api(s.url, null, 'GET', '/api/v3/users/admin'), 401, 'AuthenticationRequiredError'));
  });
});

describe('readiness checks', () => {
  const blobs = { check: async () => undefined } as unknown as BlobStore;
  it('fails a database that does not answer within the bound, without waiting for it', async () => {
    const hung = { ping: () => new Promise<void>(() => undefined) } as unknown as Store;
    const started = Date.now();
    assert.deepEqual(await readinessProblems(hung, blobs, 50), ['database unreachable: no answer within 0.05 s']);
    assert.ok(Date.now() - started < 1000);
  });

  it('names each check that failed, with its reason', async () => {
    const down = { ping: async () => { throw new Error('connection refused'); } } as unknown as Store;
    const gone = { check: async () => { throw new Error('ENOENT'); } } as unknown as BlobStore;
    assert.deepEqual(await readinessProblems(down, gone, 1000), ['database unreachable: connection refused', 'blob store unreachable: ENOENT']);
  });
});

describe('probe listener', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trawl-probes-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('makes a worker process (no API) probeable and scrapeable on probePort', async () => {
    const port = await freePort();
    const config = loadConfig({ env: {}, flags: { dataDir: dir, role: 'worker', workers: '1', logLevel: 'silent', probePort: String(port), metrics: 'probe-only' } });
    const w = await startService(config);
    try {
      assert.equal(w.url, null);
      assert.equal(w.probeUrl, `http://127.0.0.1:${port}`);
      const health = await api(w.probeUrl!, null, 'GET', '/api/v3/health');
      assert.equal(health.status, 200);
      assert.equal(health.body.data.role, 'worker');
      assert.equal((await api(w.probeUrl!, null, 'GET', '/api/v3/ready')).status, 200);
      const m = await scrape(w.probeUrl!);
      assert.ok(m.has('trawl_uploads_total') && m.has('trawl_job_queue_depth{kind="analyze"}'));
      assert.ok(isVtError(await api(w.probeUrl!, null, 'GET', '/api/v3/files/x'), 404, 'NotFoundError'), 'nothing but the probes');
    } finally {
      await w.close();
    }
  });

  it('serves no /metrics with metrics off, and /metrics only on the probe port with probe-only', async () => {
    const off = await startTestService({ metrics: 'off' });
    try {
      assert.ok(isVtError(await api(off.url, null, 'GET', '/metrics'), 404, 'NotFoundError'));
      assert.equal((await api(off.url, null, 'GET', '/api/v3/ready')).status, 200);
    } finally {
      await off.stop();
    }
    const probeOnly = await startTestService({ metrics: 'probe-only', probePort: String(await freePort()) });
    try {
      assert.ok(isVtError(await api(probeOnly.url, null, 'GET', '/metrics'), 404, 'NotFoundError'));
      assert.ok((await scrape(probeOnly.probeUrl!)).has('trawl_uploads_total'));
    } finally {
      await probeOnly.stop();
    }
  });
});
