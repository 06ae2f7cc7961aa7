// Scale-out as a team would run it: PostgreSQL, S3-compatible storage (s3rver on loopback), two
// API processes and two worker processes, each with a data folder of its own as separate machines
// have. Uploads with matches, a worker killed mid-burst: every analysis completes, one
// notification per match, members of archives and uploads downloadable from either API.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { main } from '../src/cli/main.js';
import { makeZip } from './helpers/archives.js';
import { serveChild, serveWorkerChild } from './helpers/child-service.js';
import { api, fileForm } from './helpers/service.js';
import { startS3, type TestS3 } from './helpers/s3-server.js';
import { postgresBackend } from './helpers/store-contract.js';

const pgUrl = process.env.TRAWL_TEST_PG_URL;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const MARK = 'SCALE-OUT-MATCH-7f3a';

describe('scale-out: API and worker processes on PostgreSQL and S3', { skip: pgUrl ? false : 'needs TRAWL_TEST_PG_URL' }, () => {
  let s3: TestS3;
  let root: string;
  let database: string;
  const pg = postgresBackend(pgUrl ?? '');
  const stops: (() => Promise<void>)[] = [];
  let shared: string[];

  before(async () => {
    s3 = await startS3();
    root = await mkdtemp(join(tmpdir(), 'trawl-scale-'));
    database = await pg.freshUrl();
    const s3Flags = s3.flags('deploy-1');
    // A short lease, renewed every second: a killed worker's jobs move within ~3 s.
    shared = ['--database', database, '--job-lease', '3', '--workers', '1', ...Object.entries(s3Flags).flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, v])];
  });
  after(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await s3?.close();
    await rm(root, { recursive: true, force: true });
    await pg.cleanup();
  });

  const folder = (name: string) => join(root, name);

  it('hunts every upload once across workers, survives a killed worker, and serves blobs from any API', async () => {
    const apiA = await serveChild(folder('api-a'), ['--role', 'api', ...shared]);
    stops.push(apiA.stop);
    assert.ok(apiA.key, 'the first start shows the admin key');
    const key = apiA.key!;
    const apiB = await serveChild(folder('api-b'), ['--role', 'api', ...shared]);
    stops.push(apiB.stop);
    const w1 = await serveWorkerChild(folder('worker-1'), shared);
    const w2 = await serveWorkerChild(folder('worker-2'), shared);
    stops.push(w1.stop, w2.stop);

    const rs = await api(apiA.url, key, 'POST', '/api/v3/intelligence/hunting_rulesets', {
      data: { type: 'hunting_ruleset', attributes: { name: 'scale', enabled: true, rules: `rule scale_out { strings: $m = "${MARK}" condition: $m }` } },
    });
    assert.equal(rs.status, 200, JSON.stringify(rs.body));

    // 80 uploads through both APIs, half of them matching; one a zip whose member matches.
    const member = Buffer.concat([randomBytes(64), Buffer.from(MARK), randomBytes(64)]);
    const files: Buffer[] = [makeZip({ 'inner/payload.bin': member })];
    for (let i = 1; i < 80; i++) files.push(Buffer.concat([randomBytes(200 + i), i % 2 === 0 ? Buffer.from(MARK) : Buffer.alloc(0), randomBytes(50)]));
    // A match in a member notifies the upload (match_in_subfile).
    const matching = new Set(files.filter((f, i) => i === 0 || f.includes(MARK)).map(sha256));
    const expected = matching.size;
    let killed = false;
    let sent = 0;
    const client = async () => {
      while (sent < files.length) {
        const f = files[sent]!;
        const via = sent++ % 2 === 0 ? apiA : apiB;
        const r = await api(via.url, key, 'POST', '/api/v3/files', fileForm(f, `f${sent}.bin`));
        assert.equal(r.status, 200, JSON.stringify(r.body));
        if (sent === 40 && !killed) {
          killed = true;
          w1.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([client(), client(), client(), client()]);
    assert.ok(killed);

    // Every analysis completes (the killed worker's jobs are taken over).
    const deadline = Date.now() + 90_000;
    const notifiedNow = async () => {
      const counts = new Map<string, number>();
      let cursor = '';
      do {
        const page = await api(apiB.url, key, 'GET', `/api/v3/intelligence/hunting_notification_files?limit=40${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        for (const d of page.body.data) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
        cursor = page.body.meta?.cursor ?? '';
      } while (cursor);
      return counts;
    };
    let notified = new Map<string, number>();
    for (;;) {
      notified = await notifiedNow();
      if (notified.size >= expected || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    assert.deepEqual([...notified.keys()].sort(), [...matching].sort(), 'one notification per matching upload');
    assert.ok([...notified.values()].every((n) => n === 1), `no duplicate notification: ${JSON.stringify([...notified])}`);

    // Uploads and unpacked members are in the shared blob store: either API serves them.
    for (const f of [files[0]!, files[1]!, member]) {
      for (const via of [apiA, apiB]) {
        const res = await fetch(`${via.url}/api/v3/files/${sha256(f)}/download`, { headers: { 'x-apikey': key } });
        assert.equal(res.status, 200);
        assert.ok(Buffer.from(await res.arrayBuffer()).equals(f), `${sha256(f)} from ${via.url}`);
      }
    }
    // A ranged download through object storage.
    const part = await fetch(`${apiB.url}/api/v3/files/${sha256(files[1]!)}/download`, { headers: { 'x-apikey': key, range: 'bytes=10-99' } });
    assert.equal(part.status, 206);
    assert.ok(Buffer.from(await part.arrayBuffer()).equals(files[1]!.subarray(10, 100)));
    const zip = await api(apiA.url, key, 'GET', `/api/v3/files/${sha256(files[0]!)}`);
    assert.equal(zip.body.data.attributes.bundle_info?.num_children, 1);

    // `trawl status` sees the deployment: both APIs and the surviving worker, and the queue
    // drains (analyses of files that match nothing may still be running, or held by the killed
    // worker until its lease lapses).
    type Status = { processes: { role: string; pid: number; blobStore: string }[]; queue: { kind: string; queued: number; running: number; failed: number }[] };
    const status = async (): Promise<Status> => {
      let text = '';
      const out = new PassThrough().on('data', (c) => (text += c));
      assert.equal(await main(['status', '--json', '--database', database], out, new PassThrough()), 0);
      return JSON.parse(text) as Status;
    };
    const busy = (st: Status) => st.queue.some((q) => q.kind === 'analyze' && q.queued + q.running > 0);
    let st = await status();
    for (const until = Date.now() + 30_000; busy(st) && Date.now() < until; st = await status()) await new Promise((r) => setTimeout(r, 250));
    const pids = (role: string) => st.processes.filter((p) => p.role === role).map((p) => p.pid).sort();
    assert.deepEqual(pids('api'), [apiA.child.pid, apiB.child.pid].sort());
    assert.ok(pids('worker').includes(w2.child.pid!));
    assert.ok(st.processes.every((p) => p.blobStore === 's3://trawl/deploy-1/'));
    assert.ok(st.queue.every((q) => q.kind !== 'analyze' || (q.queued === 0 && q.running === 0 && q.failed === 0)), JSON.stringify(st.queue));
    assert.deepEqual(await notifiedNow(), notified, 'nothing notified again once every analysis is done');
  });

  it('refuses to start a process whose blob store is not the deployment\'s', async () => {
    const own = shared.filter((_, i, a) => !/^--(blob-url|s3-)/.test(a[i]!) && !/^--(blob-url|s3-)/.test(a[i - 1] ?? ''));
    await assert.rejects(serveWorkerChild(folder('stray-worker'), own), /refusing to start: the blob store .* is not the one this deployment's other processes use/);
    const otherPrefix = Object.entries(s3.flags('another-prefix')).flatMap(([k, v]) => [`--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())}`, v]);
    await assert.rejects(serveChild(folder('stray-api'), ['--role', 'api', '--database', database, ...otherPrefix]), /refusing to start/);
  });
});
