// `trawl migrate` end to end: an embedded install (SQLite, blob folder) with users, a ruleset,
// files, an archive's subfiles and notifications is moved to PostgreSQL and S3 (s3rver on
// loopback) by the real command, and a service started on the new setup serves the same through
// the HTTP API: keys, files, subfiles, notifications, IoC Stream, downloads; new rows get new ids.
// Also: refused while the source runs, refused into a database holding data, blobs resumed,
// and the database alone moved (the blob folder keeps its deployment marker).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { startService, type Service } from '../src/main.js';
import { makeZip } from './helpers/archives.js';
import { startS3, type TestS3 } from './helpers/s3-server.js';
import { api, fileForm, newUser, pollUntil, runCli, startTestService, waitForAnalysis } from './helpers/service.js';
import { postgresBackend, type Backend } from './helpers/store-contract.js';

const PG_URL = process.env.TRAWL_TEST_PG_URL;
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const RULESETS = '/api/v3/intelligence/hunting_rulesets';

/** A service on existing data (startTestService insists on creating the first admin). */
async function serve(flags: Record<string, string>): Promise<Service & { url: string; stop(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'trawl-migrated-'));
  const config = loadConfig({ env: {}, flags: { dataDir: dir, port: '0', logLevel: 'silent', workers: '2', rulesCompileWaitMs: '600000', ...flags } });
  const s = await startService(config);
  assert.ok(s.url);
  assert.equal(s.adminKey, null, 'the users came along: no new admin');
  return { ...s, url: s.url, stop: async () => { await s.close(); await rm(dir, { recursive: true, force: true }); } };
}

describe('trawl migrate', { skip: PG_URL ? false : 'TRAWL_TEST_PG_URL is unset' }, () => {
  let pg: Backend;
  let s3: TestS3;
  /** The embedded install's data folder. */
  let dir: string;
  const keys: Record<string, string> = {};
  const contents = new Map<string, Buffer>();
  let zipHash: string;
  let before_: Awaited<ReturnType<typeof snapshot>>;

  const upload = async (url: string, key: string, content: Buffer, name: string) => {
    const r = await api(url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(url, key, r.body.data.id, 60_000);
    contents.set(sha256(content), content);
    return sha256(content);
  };

  /** What the API shows of the deployment's data, minus the service's own URL. */
  const snapshot = async (url: string) => {
    const get = async (key: string, path: string) => {
      const r = await api(url, key, 'GET', path);
      assert.equal(r.status, 200, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const files: Record<string, unknown> = {};
    const downloads: Record<string, string> = {};
    for (const h of [...contents.keys()].sort()) {
      files[h] = (await get(keys.alice!, `/api/v3/files/${h}`)).data.attributes;
      const res = await fetch(`${url}/api/v3/files/${h}/download`, { headers: { 'x-apikey': keys.alice! } });
      assert.equal(res.status, 200);
      downloads[h] = sha256(Buffer.from(await res.arrayBuffer()));
    }
    const items = (body: any) => body.data.map((d: any) => ({ id: d.id, context: d.context_attributes }));
    return {
      // A user's quotas: what is allowed came along; what is used grows with these very reads.
      users: await Promise.all(['admin', 'alice', 'bob'].map(async (u) => {
        const a = (await get(keys[u]!, `/api/v3/users/${u}`)).data.attributes;
        return { ...a, quotas: Object.fromEntries(Object.entries(a.quotas as Record<string, { allowed: number }>).map(([k, v]) => [k, v.allowed])) };
      })),
      files,
      downloads,
      bundled: (await get(keys.alice!, `/api/v3/files/${zipHash}/bundled_files?limit=40`)).data.map((d: any) => [d.id, d.context_attributes]),
      rulesets: (await get(keys.alice!, `${RULESETS}?limit=40`)).data.map((d: any) => [d.id, d.attributes]),
      notificationFiles: items(await get(keys.alice!, '/api/v3/users/alice/hunting_notification_files?limit=40')),
      stream: items(await get(keys.alice!, '/api/v3/ioc_stream?limit=40')),
      // Answered from the content index: its rows and its segment blob moved too.
      search: (await get(keys.bob!, `/api/v3/intelligence/search?query=${encodeURIComponent('content:"MIGRATE-MARKER"')}&limit=40`)).data.map((d: any) => d.id).sort(),
      // Answered through the index of names, which the target builds as the rows arrive.
      names: await Promise.all(['bundle.z', 'hit.txt', 'NOISE', 'plain', 'no-such-name'].map(async (n) =>
        (await get(keys.bob!, `/api/v3/intelligence/search?query=${encodeURIComponent(`name:${n}`)}&limit=40`)).data.map((d: any) => d.id))),
    };
  };

  before(async () => {
    pg = postgresBackend(PG_URL!);
    s3 = await startS3();
    const s = await startTestService();
    dir = s.dir;
    keys.admin = s.adminKey;
    keys.alice = await newUser(s, 'alice');
    keys.bob = await newUser(s, 'bob');
    const r = await api(s.url, keys.alice, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: {
      name: 'moves', enabled: true, rules: 'rule marked : tagged { strings: $m = "MIGRATE-MARKER" condition: $m }',
    } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await upload(s.url, keys.alice, Buffer.from(`MIGRATE-MARKER plain ${randomBytes(8).toString('hex')}`), 'plain.txt');
    const members = { 'inner/hit.txt': `MIGRATE-MARKER inside ${randomBytes(8).toString('hex')}`, 'other.bin': randomBytes(300) };
    zipHash = await upload(s.url, keys.bob, makeZip(members), 'bundle.zip');
    for (const m of Object.values(members)) contents.set(sha256(m), Buffer.from(m));
    await upload(s.url, keys.bob, randomBytes(5000), 'noise.bin');
    // The content index's segment is a blob too (4 uploads and members, then the segment).
    await pollUntil('a content index segment', () => s.store.countPendingGrams(), (p) => p.files === 0, 20_000, 100);
    before_ = await snapshot(s.url);
    assert.equal(before_.notificationFiles.length, 2, 'the plain file and the archive matched');
    assert.equal(before_.bundled.length, 2);
    assert.equal(before_.search.length, 2, 'the plain file and the archive member hold the marker (the archive deflates it)');
    assert.deepEqual(before_.names.map((ids: string[]) => ids.length), [1, 1, 1, 1, 0]);
    await s.close(); // not stop(): the data folder is the migration's source
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
    await pg?.cleanup();
    await s3?.close();
  });

  const toS3 = (prefix: string) => [
    '--to-blob-url', `s3://${s3.bucket}/${prefix}`, '--to-s3-endpoint', s3.endpoint,
    '--to-s3-access-key-id', s3.accessKeyId, '--to-s3-secret-access-key', s3.secretAccessKey,
  ];

  it('refuses while a process of the source runs', async () => {
    const running = await startService(loadConfig({ env: {}, flags: { dataDir: dir, port: '0', logLevel: 'silent', workers: '1' } }));
    try {
      const r = await runCli(['migrate', '--data-dir', dir, '--to-database', await pg.freshUrl()]);
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /refusing: 1 Trawl process is running .*Stop every process/);
    } finally {
      await running.close();
    }
  });

  let movedUrl: string;
  it('moves the database to PostgreSQL and the blobs to S3: a service there serves the same, and continues the ids', async () => {
    movedUrl = await pg.freshUrl();
    // Two rows a batch: every table takes several pages, composite keys included.
    const r = await runCli(['migrate', '--data-dir', dir, '--to-database', movedUrl, ...toS3('moved'), '--batch-size', '2', '--concurrency', '3']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /blobs: 6 \/ 6 \(copied 6, already there 0, failed 0/);
    assert.match(r.err, /hunting_notifications: 2 \/ 2 rows/);
    assert.match(r.err, /files: 5 \/ 5 rows/);
    assert.match(r.out, new RegExp(`trawl serve --database ${movedUrl.replace(/[/.?]/g, '\\$&')} --blob-url s3://${s3.bucket}/moved --s3-endpoint`));

    const s = await serve({ database: movedUrl, ...s3.flags('moved') });
    try {
      assert.deepEqual(await snapshot(s.url), before_);
      // Every id sequence goes on past the copied rows.
      const carol = await api(s.url, keys.admin!, 'POST', '/api/v3/users', { data: { type: 'user', id: 'carol' } });
      assert.equal(carol.status, 200, JSON.stringify(carol.body));
      const rs = await api(s.url, keys.alice!, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name: 'later', enabled: true, rules: 'rule later { strings: $m = "LATER-MARKER" condition: $m }' } } });
      assert.equal(rs.status, 200, JSON.stringify(rs.body));
      assert.ok(before_.rulesets.every(([id]: [string]) => Number(id) < Number(rs.body.data.id)));
      const fresh = Buffer.from(`LATER-MARKER MIGRATE-MARKER ${randomBytes(8).toString('hex')}`);
      const up = await api(s.url, keys.alice!, 'POST', '/api/v3/files', fileForm(fresh, 'after.txt'));
      assert.equal(up.status, 200, JSON.stringify(up.body));
      await waitForAnalysis(s.url, keys.alice!, up.body.data.id, 60_000);
      const n = await api(s.url, keys.alice!, 'GET', '/api/v3/users/alice/hunting_notification_files?limit=40');
      const oldIds = before_.notificationFiles.map((x: any) => Number(x.context.notification_id));
      const newOnes = n.body.data.filter((d: any) => d.id === sha256(fresh));
      assert.equal(newOnes.length, 2, 'both rulesets matched the new upload');
      for (const d of newOnes) assert.ok(Number(d.context_attributes.notification_id) > Math.max(...oldIds));
      const dl = await fetch(`${s.url}/api/v3/files/${sha256(fresh)}/download`, { headers: { 'x-apikey': keys.alice! } });
      assert.deepEqual(Buffer.from(await dl.arrayBuffer()), fresh);
    } finally {
      await s.stop();
    }
  });

  it('refuses a target database that holds data, saying to recreate it', async () => {
    const r = await runCli(['migrate', '--data-dir', dir, '--to-database', movedUrl]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /refusing: the target database already holds data \(settings, users, files.*drop and recreate/);
  });

  it('goes on where it stopped: blobs the target holds are skipped', async () => {
    const r = await runCli(['migrate', '--data-dir', dir, ...toS3('moved')]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /blobs: 6 \/ 6 \(copied 0, already there 6, failed 0/);
    assert.match(r.out, /trawl serve --data-dir \S+ --blob-url s3:\/\/trawl\/moved/);
  });

  it('moves the database alone: the blob folder keeps its marker and serves the new database', async () => {
    const url = await pg.freshUrl();
    const r = await runCli(['migrate', '--data-dir', dir, '--to-database', url]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, /blobs:/);
    assert.match(r.out, new RegExp(`--blob-dir ${join(dir, 'blobs')}`));
    const s = await serve({ database: url, blobDir: join(dir, 'blobs') });
    try {
      assert.deepEqual(await snapshot(s.url), before_);
    } finally {
      await s.stop();
    }
  });

  it('never copies a damaged blob: it names it, copies the rest, writes no marker and exits 1', async () => {
    const [victim] = [...contents.keys()].sort();
    await writeFile(join(dir, 'blobs', victim!.slice(0, 2), victim!), 'not what its name says');
    const r = await runCli(['migrate', '--data-dir', dir, ...toS3('damaged')]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /blobs: 6 \/ 6 \(copied 5, already there 0, failed 1/);
    assert.match(r.err, new RegExp(`blob ${victim}: its content in the source is damaged`));
    assert.equal(r.out, '', 'no flags for a setup that is not complete');
  });
});
