// The Store contract, run against every implementation: SQLite (temp files; with and without the
// writer thread) and PostgreSQL
// (a fresh database per test on the server at TRAWL_TEST_PG_URL; skipped when unset).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { TrawlError } from '../src/model/errors.js';
import { storedStreamContext } from '../src/model/stream-context.js';
import { LiveFeed } from '../src/stream/live-feed.js';
import { openStore, type OpenStoreOptions } from '../src/store/open-store.js';
import { postgresDialect } from '../src/store/postgres/postgres-dialect.js';
import { sqliteDialect } from '../src/store/sqlite/sqlite-dialect.js';
import { migrate } from '../src/store/sql/migrations.js';
import type { Database } from '../src/store/sql/schema.js';
import type { NewNotification, NewSubmission, NotificationQuery, Store } from '../src/store/store.js';

const OPEN_STORE_MODULE = new URL('../src/store/open-store.js', import.meta.url).href;

/** Hands out empty databases of one kind and cleans them all up. */
interface Backend {
  freshUrl(): Promise<string>;
  /** A Kysely of its own on a database of freshUrl's, for migrating it as an older version would. */
  kysely(url: string): Promise<Kysely<Database>>;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-store-'));
  let n = 0;
  return {
    freshUrl: async () => `sqlite:${join(dir, `sub/db-${++n}.db`)}`,
    kysely: async (url) => new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(url.slice('sqlite:'.length)) }) }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function postgresBackend(adminUrl: string): Backend {
  const created: string[] = [];
  const admin = async (text: string) => {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  return {
    async freshUrl() {
      const name = `trawl_t_${process.pid}_${Date.now()}_${created.length}`;
      await admin(`create database ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async kysely(url) {
      const pg = (await import('pg')).default;
      return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
    },
    async cleanup() {
      for (const name of created) await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

/** Real hashes of `content`, so lookups by each hash are meaningful. */
function hashes(content: string) {
  const h = (alg: string) => createHash(alg).update(content).digest('hex');
  return { sha256: h('sha256'), sha1: h('sha1'), md5: h('md5'), size: content.length };
}

function submission(content: string, over: Partial<NewSubmission> = {}): NewSubmission {
  return {
    analysisId: randomUUID(), ...hashes(content), userId: 1, date: 1_700_000_000, name: null,
    sourceKey: 'src-a', sourceCountry: 'DE', password: null, ...over,
  };
}

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof TrawlError, `expected a TrawlError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function contract(kind: 'sqlite' | 'postgres', makeBackend: () => Backend, baseOpts: OpenStoreOptions = {}): void {
  const backend = makeBackend();
  const open: Store[] = [];
  const openAt = async (url: string, opts: OpenStoreOptions = {}) => {
    const s = await openStore(url, { poolSize: 8, ...baseOpts, ...opts });
    open.push(s);
    return s;
  };
  const fresh = async (opts: OpenStoreOptions = {}) => openAt(await backend.freshUrl(), opts);
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });
  after(() => backend.cleanup());

  it('migrates idempotently: opening twice, even at once, keeps data', async () => {
    const url = await backend.freshUrl();
    // Two processes open (and migrate) the new database at the same time.
    const opener = `const { openStore } = await import(${JSON.stringify(OPEN_STORE_MODULE)});
      await (await openStore(${JSON.stringify(url)})).close();`;
    const exits = await Promise.all([1, 2].map(() => new Promise((resolve) =>
      execFile(process.execPath, ['--input-type=module', '-e', opener], (err, _out, stderr) => resolve(err ? stderr : 0)))));
    assert.deepEqual(exits, [0, 0]);
    // Two stores in this process: one thread, so concurrent only on PostgreSQL (see sqlite-store.ts).
    const [a, b] = kind === 'postgres' ? await Promise.all([openAt(url), openAt(url)]) : [await openAt(url), await openAt(url)];
    assert.equal(a.dialect, kind);
    await a.setSettingIfAbsent('k', 'v');
    assert.equal(await b.getSetting('k'), 'v');
    await a.close();
    await b.close();
    open.length = 0;
    assert.equal(await (await openAt(url)).getSetting('k'), 'v');
  });

  it('has PostgreSQL vacuum the notification tables after 2% of their rows are deleted', { skip: kind !== 'postgres' && 'PostgreSQL only' }, async () => {
    const url = await backend.freshUrl();
    await openAt(url);
    const db = await backend.kysely(url);
    try {
      const { rows } = await sql<{ relname: string; reloptions: string[] | null }>`select relname, reloptions from pg_class
        where relname in ('hunting_notifications', 'hunting_notification_tags') order by relname`.execute(db);
      assert.deepEqual(rows.map((r) => [r.relname, [...(r.reloptions ?? [])].sort()]), ['hunting_notification_tags', 'hunting_notifications'].map((t) =>
        [t, ['autovacuum_analyze_scale_factor=0.02', 'autovacuum_vacuum_scale_factor=0.02']]));
    } finally {
      await db.destroy();
    }
  });

  it('setSettingIfAbsent keeps the first value', async () => {
    const s = await fresh();
    assert.equal(await s.getSetting('secret'), null);
    assert.equal(await s.setSettingIfAbsent('secret', 'one'), 'one');
    assert.equal(await s.setSettingIfAbsent('secret', 'two'), 'one');
    assert.equal(await s.getSetting('secret'), 'one');
  });

  it('creates, finds, lists, updates and deletes users', async () => {
    const s = await fresh();
    const alice = await s.createUser({ username: 'alice', isAdmin: true, apikeyHash: 'h1', createdAt: 10 });
    assert.deepEqual(alice, {
      id: alice.id, username: 'alice', email: null, isAdmin: true, disabled: false, createdAt: 10, apikeyHash: 'h1',
    });
    const bob = await s.createUser({ username: 'bob', isAdmin: false, apikeyHash: 'h2', email: 'b@x', createdAt: 11 });
    assert.deepEqual(await s.getUserById(bob.id), bob);
    assert.deepEqual(await s.getUserByName('alice'), alice);
    assert.deepEqual(await s.getUserByKeyHash('h2'), bob);
    assert.equal(await s.getUserByKeyHash('nope'), null);
    assert.equal(await s.getUserById(9999), null);
    assert.equal(await s.countUsers(), 2);
    assert.deepEqual((await s.listUsers(0, 10)).map((u) => u.username), ['alice', 'bob']);
    assert.deepEqual((await s.listUsers(alice.id, 10)).map((u) => u.username), ['bob']);
    assert.deepEqual((await s.listUsers(0, 1)).map((u) => u.username), ['alice']);

    await assert.rejects(s.createUser({ username: 'alice', isAdmin: false, apikeyHash: 'h3', createdAt: 1 }), (e) =>
      isCode('AlreadyExistsError')(e) && /alice/.test((e as Error).message));
    await assert.rejects(s.createUser({ username: 'carol', isAdmin: false, apikeyHash: 'h1', createdAt: 1 }),
      isCode('AlreadyExistsError'));

    const updated = await s.updateUser(bob.id, { disabled: true, isAdmin: true, apikeyHash: 'h9', email: null });
    assert.deepEqual(updated, { ...bob, disabled: true, isAdmin: true, apikeyHash: 'h9', email: null });
    assert.equal(await s.getUserByKeyHash('h2'), null);
    assert.deepEqual(await s.getUserByKeyHash('h9'), updated);
    assert.deepEqual(await s.updateUser(bob.id, {}), updated);
    assert.equal(await s.updateUser(9999, { disabled: true }), null);
    await assert.rejects(s.updateUser(bob.id, { apikeyHash: 'h1' }), isCode('AlreadyExistsError'));

    assert.equal(await s.deleteUser(bob.id), true);
    assert.equal(await s.deleteUser(bob.id), false);
    assert.equal(await s.getUserById(bob.id), null);
    assert.equal(await s.countUsers(), 1);
  });

  it('addSubmission maintains names, times_submitted and unique_sources', async () => {
    const s = await fresh();
    const first = await s.addSubmission(submission('x', { userId: 1, name: 'a.exe', sourceKey: 'u1', date: 200 }));
    assert.equal(first.status, 'queued');
    await s.addSubmission(submission('x', { userId: 2, name: 'b.exe', sourceKey: 'u2', date: 100 }));
    let f = await s.getFile(hashes('x').sha256);
    assert.equal(f?.timesSubmitted, 2);
    assert.equal(f?.uniqueSources, 2);
    assert.deepEqual(f?.names, ['a.exe', 'b.exe']);
    assert.equal(f?.firstSubmissionDate, 100);
    assert.equal(f?.lastSubmissionDate, 200);
    assert.equal(f?.lastAnalysisDate, undefined);
    assert.equal(f?.magic, undefined);

    await s.addSubmission(submission('x', { userId: 1, name: 'a.exe', sourceKey: 'u1', date: 300 }));
    await s.addSubmission(submission('x', { userId: 1, name: null, sourceKey: 'u1', date: 250 }));
    f = await s.getFile(hashes('x').sha256);
    assert.equal(f?.timesSubmitted, 4);
    assert.equal(f?.uniqueSources, 2);
    assert.deepEqual(f?.names, ['a.exe', 'b.exe']);
    assert.equal(f?.lastSubmissionDate, 300);
    assert.equal(await s.pendingJobs(), 4);
  });

  it('stores submissions and finds them by id and analysis id', async () => {
    const s = await fresh();
    const input = submission('y', { name: 'y.bin', password: 'infected', sourceCountry: '' });
    const rec = await s.addSubmission(input);
    assert.deepEqual(rec, { ...input, id: rec.id, status: 'queued' });
    assert.deepEqual(await s.getSubmission(rec.id), rec);
    assert.deepEqual(await s.getSubmissionByAnalysisId(input.analysisId), rec);
    assert.equal(await s.getSubmission(rec.id + 100), null);
    assert.equal(await s.getSubmissionByAnalysisId('unknown'), null);
    await s.setSubmissionStatus(rec.id, 'in-progress');
    assert.equal((await s.getSubmission(rec.id))?.status, 'in-progress');
    await s.setSubmissionStatus(rec.id, 'queued');
    const [job] = await s.claimJobs('w', 1, 60_000);
    assert.equal(job?.payload.submissionId, rec.id);
    assert.equal((await s.getSubmission(rec.id))?.status, 'in-progress', 'claiming the job puts its analysis in progress');
    await assert.rejects(s.addSubmission({ ...input }), isCode('AlreadyExistsError'));
    assert.equal((await s.getFile(input.sha256))?.timesSubmitted, 1, 'a rejected write leaves nothing behind');
  });

  it('getFile finds by sha256, sha1 and md5 in either case; unknown is null', async () => {
    const s = await fresh();
    const h = hashes('z');
    await s.addSubmission(submission('z'));
    for (const hash of [h.sha256, h.sha1, h.md5]) {
      assert.equal((await s.getFile(hash))?.sha256, h.sha256);
      assert.equal((await s.getFile(hash.toUpperCase()))?.sha256, h.sha256);
    }
    assert.equal((await s.getFile(h.sha256))?.size, 1);
    assert.equal(await s.getFile(hashes('other').sha256), null);
    assert.equal(await s.getFile(hashes('other').md5), null);
    assert.equal(await s.getFile('abc'), null);
  });

  it('commits 200 concurrent addSubmission calls, all durable and distinct', async () => {
    const url = await backend.freshUrl();
    const s = await openAt(url);
    const inputs = Array.from({ length: 200 }, (_, i) => submission(`c${i % 10}`, { sourceKey: `s${i % 3}` }));
    const recs = await Promise.all(inputs.map((i) => s.addSubmission(i)));
    assert.equal(new Set(recs.map((r) => r.id)).size, 200);
    await s.close();
    open.length = 0;
    const again = await openAt(url);
    for (const i of inputs) assert.equal((await again.getSubmissionByAnalysisId(i.analysisId))?.sha256, i.sha256);
    const f = await again.getFile(hashes('c0').sha256);
    assert.equal(f?.timesSubmitted, 20);
    assert.equal(f?.uniqueSources, 3);
    assert.equal(await again.pendingJobs(), 200);
  });

  it('rejects only the bad write of a concurrent batch', async () => {
    const s = await fresh();
    const dup = submission('d');
    await s.addSubmission(dup);
    const results = await Promise.allSettled([
      s.addSubmission(submission('d1')), s.addSubmission({ ...dup }), s.addSubmission(submission('d2')),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    isCode('AlreadyExistsError')((results[1] as PromiseRejectedResult).reason);
    assert.equal((await s.getFile(hashes('d').sha256))?.timesSubmitted, 1);
  });

  it('claimJobs never hands one job to two concurrent claimers', async () => {
    const s = await fresh();
    await Promise.all(Array.from({ length: 60 }, (_, i) => s.addSubmission(submission(`j${i}`))));
    const claimer = async (w: string) => {
      const got: number[] = [];
      for (let jobs = await s.claimJobs(w, 3, 60_000); jobs.length > 0; jobs = await s.claimJobs(w, 3, 60_000)) {
        for (const j of jobs) {
          assert.equal(j.kind, 'analyze');
          assert.equal(j.attempts, 0);
          assert.equal(typeof j.payload.submissionId, 'number');
          got.push(j.id);
        }
      }
      return got;
    };
    const all = (await Promise.all(['w1', 'w2', 'w3', 'w4'].map(claimer))).flat();
    assert.equal(all.length, 60);
    assert.equal(new Set(all).size, 60);
    assert.equal(await s.pendingJobs(), 60);
    assert.deepEqual(await s.claimJobs('w5', 10, 1000), []);
  });

  it('claimJobs shares claims fairly between users: another user\'s one upload is not behind a backlog', async () => {
    const s = await fresh();
    const mine = [];
    for (let i = 0; i < 30; i++) mine.push(await s.addSubmission(submission(`bulk${i}`, { userId: 1 })));
    const theirs = await s.addSubmission(submission('other', { userId: 2 }));
    // The bulk user's oldest job and the other user's one: the lane with none running goes first.
    const first = await s.claimJobs('w', 2, 60_000);
    assert.deepEqual(first.map((j) => j.payload.submissionId).sort(), [mine[0]!.id, theirs.id].sort());
    // A third user arrives while the bulk user has a job running: theirs comes first.
    const third = await s.addSubmission(submission('third', { userId: 3 }));
    const [next] = await s.claimJobs('w', 1, 60_000);
    assert.equal(next?.payload.submissionId, third.id);
    // Alone, a lane is claimed in order, as many at once as asked.
    const rest = await s.claimJobs('w', 5, 60_000);
    assert.deepEqual(rest.map((j) => j.payload.submissionId), mine.slice(1, 6).map((m) => m.id));
  });

  it('makes a job claimable again when its lease expires; extendLeases and requeue', async () => {
    const s = await fresh();
    const sub = await s.addSubmission(submission('l'));
    const [job] = await s.claimJobs('w1', 5, 40);
    assert.deepEqual(job?.payload, { submissionId: sub.id });
    assert.deepEqual(await s.claimJobs('w2', 5, 40), []);
    await sleep(60);
    const [again] = await s.claimJobs('w2', 5, 40);
    assert.equal(again?.id, job?.id);
    assert.equal(again?.attempts, 1);

    await s.extendLeases('w2', 60_000);
    await sleep(60);
    assert.deepEqual(await s.claimJobs('w3', 5, 40), [], 'an extended lease holds');
    assert.equal(await s.requeueRunningJobs(), 1);
    assert.equal((await s.claimJobs('w3', 5, 40))[0]?.attempts, 2);
  });

  it('retryJob delays the job and records the error', async () => {
    const s = await fresh();
    await s.addSubmission(submission('r'));
    const [job] = await s.claimJobs('w', 1, 60_000);
    assert.ok(job);
    await s.retryJob(job.id, 'boom', 60_000);
    assert.deepEqual(await s.claimJobs('w', 1, 60_000), []);
    assert.equal(await s.pendingJobs(), 1);
    await s.retryJob(job.id, 'boom', 0);
    assert.equal((await s.claimJobs('w', 1, 60_000))[0]?.attempts, 1);
  });

  it('completeAnalysis stores the analysis, completes the submission, removes the job', async () => {
    const s = await fresh();
    const sub = await s.addSubmission(submission('a'));
    const [job] = await s.claimJobs('w', 1, 60_000);
    assert.ok(job);
    const analysis = {
      magic: 'PE32', typeDescription: 'Win32 EXE', typeTag: 'peexe', typeTags: ['executable', 'windows'],
      typeExtension: 'exe', tags: ['peexe'],
    };
    const submitted = (await s.getFile(sub.sha256))!.revision!;
    await s.completeAnalysis(job.id, sub.id, analysis, 1_700_000_500);
    const f = await s.getFile(sub.sha256);
    assert.deepEqual(f, { ...f, ...analysis, lastAnalysisDate: 1_700_000_500 });
    const done = await s.getSubmission(sub.id);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.completedAt, 1_700_000_500);
    assert.equal(await s.pendingJobs(), 0);
    assert.ok(f!.revision! > submitted, 'every change of the file changes its revision');
    await s.addSubmission(submission('a', { name: 'again.exe' }));
    assert.ok((await s.getFile(sub.sha256))!.revision! > f!.revision!);
  });

  it('completeAnalysis stores subfiles, bundle_info and links both ways, pages them, and keeps submitted files submitted', async () => {
    const s = await fresh();
    const known = await s.addSubmission(submission('already uploaded', { name: 'direct.txt' }));
    const sub = await s.addSubmission(submission('the archive', { name: 'a.zip' }));
    const jobs = await s.claimJobs('w', 2, 60_000);
    const job = jobs.find((j) => Number(j.payload.submissionId) === sub.id)!;
    const plain = { magic: 'ASCII text', typeDescription: 'Text', typeTag: 'text', typeTags: ['text'], typeExtension: 'txt', tags: ['text'] };
    const inner = hashes('inner zip');
    const bundle = { type: 'ZIP', num_children: 3, uncompressed_size: 42, extensions: { txt: 2, zip: 1 }, file_types: { Text: 2, ZIP: 1 }, error: 'stopped' };
    const leaf = (content: string, parents: { sha256: string; name: string }[]) => ({ ...hashes(content), analysis: plain, parents });
    await s.completeAnalysis(job.id, sub.id, { ...plain, bundleInfo: bundle }, 1_700_000_600, [], {
      subfiles: [
        { ...inner, analysis: { ...plain, typeTag: 'zip', bundleInfo: { ...bundle, num_children: 1 } }, parents: [{ sha256: sub.sha256, name: 'dir/inner.zip' }] },
        leaf('already uploaded', [{ sha256: sub.sha256, name: 'copy.txt' }, { sha256: inner.sha256, name: 'x/again.txt' }]),
        leaf('only inside', [{ sha256: inner.sha256, name: 'deep.txt' }]),
      ],
    });
    assert.deepEqual((await s.getFile(sub.sha256))?.bundleInfo, bundle);
    const innerFile = await s.getFile(inner.sha256);
    assert.equal(innerFile?.bundleInfo?.num_children, 1);
    assert.deepEqual(innerFile?.names, ['inner.zip']);
    assert.equal(innerFile?.timesSubmitted, 0);
    assert.equal(innerFile?.firstSubmissionDate, 1_700_000_600);
    assert.equal(innerFile?.lastAnalysisDate, 1_700_000_600);
    const again = await s.getFile(known.sha256);
    assert.equal(again?.timesSubmitted, 1, 'found inside an archive: still submitted once');
    assert.deepEqual(again?.names, ['direct.txt', 'copy.txt', 'again.txt']);
    assert.equal(again?.bundleInfo, undefined);

    const kids = await s.listFileLinks(sub.sha256, 'children', null, 10);
    assert.deepEqual(kids.map((k) => k.file.sha256), [known.sha256, inner.sha256].sort());
    assert.deepEqual(kids.map((k) => k.name), kids.map((k) => (k.file.sha256 === inner.sha256 ? 'dir/inner.zip' : 'copy.txt')));
    const [first] = await s.listFileLinks(sub.sha256, 'children', null, 1);
    assert.deepEqual((await s.listFileLinks(sub.sha256, 'children', first!.file.sha256, 10)).map((k) => k.file.sha256), [kids[1]!.file.sha256]);
    const parents = await s.listFileLinks(known.sha256, 'parents', null, 10);
    assert.deepEqual(parents.map((p) => p.file.sha256), [sub.sha256, inner.sha256].sort());
    assert.deepEqual(await s.listFileLinks(hashes('unrelated').sha256, 'children', null, 10), []);
  });

  it('names every inserted and updated file in the feed of changed files, once, and says when too many changed', async () => {
    const s = await fresh();
    const start = await s.fileChangesSince(null, 10);
    assert.deepEqual(start.changes, []);
    const poll = async (cursor: string, max = 10) => {
      const r = await s.fileChangesSince(cursor, max);
      return { cursor: r.cursor, changed: r.changes && Object.fromEntries(r.changes.map((c) => [c.sha256, c.revision])) };
    };
    const a = await s.addSubmission(submission('a'));
    const b = await s.addSubmission(submission('b'));
    let p = await poll(start.cursor);
    assert.deepEqual(p.changed, { [a.sha256]: 0, [b.sha256]: 0 });
    assert.deepEqual((await poll(p.cursor)).changed, {}, 'nothing twice');
    // An analysis with a subfile: one update and one insert.
    const [job] = (await s.claimJobs('w', 2, 60_000)).filter((j) => j.payload.submissionId === a.id);
    const plain = { magic: 'ASCII text', typeDescription: 'Text', typeTag: 'text', typeTags: ['text'], typeExtension: 'txt', tags: ['text'] };
    const inner = hashes('inner');
    await s.completeAnalysis(job!.id, a.id, plain, 1_700_000_600, [], { subfiles: [{ ...inner, analysis: plain, parents: [{ sha256: a.sha256, name: 'x' }] }] });
    const before = p.cursor;
    p = await poll(p.cursor);
    assert.deepEqual(p.changed, { [a.sha256]: (await s.getFile(a.sha256))!.revision, [inner.sha256]: 0 });
    assert.ok(p.changed![a.sha256]! > 0);
    // Submitted again: an update. A cursor can be read from again (another process's, or after a failure).
    await s.addSubmission(submission('b', { name: 'again' }));
    assert.deepEqual((await poll(p.cursor)).changed, { [b.sha256]: (await s.getFile(b.sha256))!.revision });
    assert.deepEqual(Object.keys((await poll(before)).changed!).sort(), [a.sha256, b.sha256, inner.sha256].sort());
    const tooMany = await poll(before, 2);
    assert.equal(tooMany.changed, null, 'more than asked');
    assert.deepEqual((await poll(tooMany.cursor)).changed, {}, 'the cursor given with it goes on from now');
  });

  it('feeds a change committed after later ones have been read', { skip: kind !== 'postgres' && 'PostgreSQL commits in any order; SQLite writers are serial' }, async () => {
    const url = await backend.freshUrl();
    const s = await openAt(url);
    const a = await s.addSubmission(submission('a'));
    const b = await s.addSubmission(submission('b'));
    let cursor = (await s.fileChangesSince(null, 10)).cursor;
    const other = await backend.kysely(url);
    // A transaction changes `a` first and commits last.
    let commit!: () => void;
    const held = new Promise<void>((resolve) => { commit = resolve; });
    try {
      let changed!: () => void;
      const inside = new Promise<void>((resolve) => { changed = resolve; });
      const slow = other.transaction().execute(async (tx) => {
        await sql`update files set times_submitted = times_submitted + 1, revision = revision + 1 where sha256 = ${a.sha256}`.execute(tx);
        changed();
        await held;
      });
      await inside;
      await s.addSubmission(submission('b', { name: 'again' }));
      let r = await s.fileChangesSince(cursor, 10);
      assert.deepEqual(r.changes?.map((c) => c.sha256), [b.sha256]);
      cursor = r.cursor;
      commit();
      await slow;
      r = await s.fileChangesSince(cursor, 10);
      assert.deepEqual(r.changes, [{ sha256: a.sha256, revision: 1 }]);
      assert.deepEqual((await s.fileChangesSince(r.cursor, 10)).changes, []);
    } finally {
      commit();
      await other.destroy();
    }
  });

  const ruleset = (ownerId: number, name: string, over: Record<string, unknown> = {}) => ({
    ownerId, name, rules: 'rule a { condition: true }', enabled: true, limit: 100, notificationEmails: [] as string[],
    matchObjectType: 'file', tags: [] as string[], ruleNames: ['a'], creationDate: 1_700_000_000, modificationDate: 1_700_000_000, ...over,
  });
  const note = (r: { id: number; ownerId: number; name: string }, sub: { id: number; sha256: string }, rule: string, date: number, tags: string[] = []): NewNotification => ({
    ownerId: r.ownerId, rulesetId: r.id, rulesetName: r.name, date, sha256: sub.sha256, submissionId: sub.id, ruleName: rule,
    ruleTags: [], snippet: rule === 'nosnip' ? null : '41 42  AB', matchInSubfile: false, sourceKey: 'k', sourceCountry: 'DE',
    tags: [r.name, rule, sub.sha256, ...tags],
  });
  /** Stores `list` as the notifications of a freshly analysed submission of `content`. */
  const analysed = async (s: Store, content: string, list: (sub: { id: number; sha256: string }) => NewNotification[], opts = {}) => {
    const sub = await s.addSubmission(submission(content));
    const claimed = await s.claimJobs('w', 10, 60_000);
    const job = claimed.find((j) => j.payload.submissionId === sub.id)!;
    for (const other of claimed) if (other !== job) await s.retryJob(other.id, 'not this test\'s', 0);
    const analysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
    return { sub, stored: await s.completeAnalysis(job.id, sub.id, analysis, 1_700_000_500, list(sub), opts) };
  };

  it('stores notifications once per rule and submission, within the ruleset limit, and none for gone rulesets', async () => {
    const s = await fresh();
    const now = Math.floor(Date.now() / 1000);
    const r = await s.createRuleset(ruleset(1, 'capped', { limit: 3 }));
    const off = await s.createRuleset(ruleset(1, 'off', { enabled: false }));
    const gone = await s.createRuleset(ruleset(1, 'gone'));
    await s.deleteRuleset(gone.id);
    const first = await analysed(s, 'n1', (sub) => [note(r, sub, 'x', now), note(r, sub, 'x', now), note(r, sub, 'nosnip', now), note(off, sub, 'x', now), note(gone, sub, 'x', now)]);
    assert.deepEqual(first.stored.stored.map((n) => n.ruleName), ['x', 'nosnip'], 'the repeated rule is stored once');
    assert.equal(first.stored.gone, 2);
    assert.deepEqual(first.stored.rateLimited, {});
    const n = first.stored.stored[0]!;
    assert.deepEqual(await s.getNotification(n.id), n);
    assert.equal((await s.getNotification(first.stored.stored[1]!.id))?.snippet, null);
    assert.equal((await s.getRuleset(r.id))?.rateLimit.from, null);
    const second = await analysed(s, 'n2', (sub) => [note(r, sub, 'x', now), note(r, sub, 'y', now)]);
    assert.equal(second.stored.stored.length, 1, 'one more fits under the limit of 3');
    assert.deepEqual(second.stored.rateLimited, { [r.id]: 1 });
    const limited = (await s.getRuleset(r.id))!.rateLimit;
    assert.equal(limited.from, now);
    assert.equal(limited.until, now + 86_400, 'room frees up when the oldest turns a day old');
    // Notifications older than a day do not count.
    const old = await s.createRuleset(ruleset(1, 'old', { limit: 1 }));
    await analysed(s, 'n3', (sub) => [note(old, sub, 'x', now - 90_000)]);
    assert.equal((await analysed(s, 'n4', (sub) => [note(old, sub, 'x', now)])).stored.stored.length, 1);
  });

  it('queues a follow-up job with the completion, and completeJob stores its notifications once and removes it', async () => {
    const s = await fresh();
    const now = Math.floor(Date.now() / 1000);
    const r = await s.createRuleset(ruleset(1, 'slowpoke'));
    const followUp = { kind: 'late-scan', payload: { files: ['f'] }, lane: 'late' };
    const { sub } = await analysed(s, 'late1', () => [], { followUp });
    const [late] = await s.claimJobs('w', 5, 60_000);
    assert.equal(late?.kind, 'late-scan');
    assert.equal(late?.lane, 'late');
    assert.deepEqual(late?.payload, { files: ['f'] });
    const stored = await s.completeJob(late!.id, [note(r, sub, 'late_rule', now)]);
    assert.deepEqual(stored.stored.map((n) => n.ruleName), ['late_rule']);
    assert.equal(await s.pendingJobs(), 0, 'the job is gone with its notifications stored');
    // Run again (say, after a crash): nothing stored twice.
    assert.equal((await s.completeJob(late!.id, [note(r, sub, 'late_rule', now)])).stored.length, 0);
  });

  it('completes concurrent analyses each once, with one ruleset limit across all of them', async () => {
    const s = await fresh();
    const now = Math.floor(Date.now() / 1000);
    const r = await s.createRuleset(ruleset(1, 'shared', { limit: 5 }));
    const subs = await Promise.all(Array.from({ length: 12 }, (_, i) => s.addSubmission(submission(`cc${i}`))));
    const jobs = await s.claimJobs('w', 20, 60_000);
    assert.equal(jobs.length, 12);
    const analysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
    // Completed side by side, as the job runner does (SQLite commits them in shared transactions).
    const results = await Promise.all(jobs.map((job) => {
      const sub = subs.find((x) => x.id === job.payload.submissionId)!;
      return s.completeAnalysis(job.id, sub.id, analysis, 1_700_000_700, [note(r, sub, 'x', now)]);
    }));
    assert.equal(results.reduce((a, x) => a + x.stored.length, 0), 5, 'the limit holds across the batch');
    assert.equal(results.reduce((a, x) => a + (x.rateLimited[r.id] ?? 0), 0), 7);
    assert.equal(await s.pendingJobs(), 0);
    for (const sub of subs) assert.equal((await s.getSubmission(sub.id))?.status, 'completed');
  });

  it('lists notifications by scope, tag, date, file and position, in both orders, and counts them', async () => {
    const url = await backend.freshUrl();
    const s = await openAt(url);
    const mine = await s.createRuleset(ruleset(1, 'mine'));
    const theirs = await s.createRuleset(ruleset(2, 'theirs'));
    const other = await s.createRuleset(ruleset(2, 'other'));
    const ids: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const { stored } = await analysed(s, `l${i}`, (sub) => [
        note(mine, sub, 'r', 1_700_000_000 + i * 10, i % 2 ? ['odd'] : []),
        note(theirs, sub, 'r', 1_700_000_001 + i * 10),
        note(other, sub, 'r', 1_700_000_002 + i * 10),
      ]);
      for (const n of stored.stored) ids[`${n.rulesetName}${i}`] = n.id;
    }
    const q = (over: Partial<NotificationQuery>): NotificationQuery => ({ scope: { ownerIds: [1], rulesetIds: [] }, order: 'desc', limit: 100, ...over });
    const names = async (over: Partial<NotificationQuery>) => (await s.listNotifications(q(over))).map((n) => `${n.rulesetName}${(n.date % 100) / 10 | 0}`);
    assert.deepEqual(await names({}), ['mine5', 'mine4', 'mine3', 'mine2', 'mine1', 'mine0']);
    assert.deepEqual(await names({ order: 'asc', limit: 2 }), ['mine0', 'mine1']);
    assert.deepEqual(await names({ scope: { ownerIds: [1], rulesetIds: [theirs.id] }, limit: 4 }), ['theirs5', 'mine5', 'theirs4', 'mine4']);
    assert.deepEqual(await names({ scope: { ownerIds: [], rulesetIds: [theirs.id] }, limit: 2 }), ['theirs5', 'theirs4']);
    assert.deepEqual(await names({ tags: ['odd'] }), ['mine5', 'mine3', 'mine1']);
    assert.deepEqual(await names({ tags: ['odd', 'mine'] }), ['mine5', 'mine3', 'mine1']);
    // Stream entries: the same walk, each with the context stored with it.
    for (const over of [{ tags: ['odd'] }, { scope: { ownerIds: [1], rulesetIds: [theirs.id] }, order: 'asc' as const, limit: 5 }]) {
      const entries = await s.listStreamEntries(q(over));
      const expected = await s.listNotifications(q(over));
      assert.deepEqual(entries, expected.map((n) => ({
        id: n.id, date: n.date, sha256: n.sha256, context: storedStreamContext(n),
      })), JSON.stringify(over));
    }
    if (kind === 'postgres') {
      // Prepared (the default) and unprepared statements read the same rows, also once
      // PostgreSQL has switched a statement to its generic plan (after five runs; each shape runs seven times).
      const plain = await openAt(url, { preparedStatements: false });
      for (const over of [{ limit: 1 }, { limit: 3, order: 'asc' as const }, { tags: ['odd'], limit: 2 }, { scope: { ownerIds: [1], rulesetIds: [theirs.id] }, limit: 4 }]) {
        const expected = await plain.listStreamEntries(q(over));
        assert.ok(expected.length > 0, JSON.stringify(over));
        // A position before every row (in the walk's order) selects the same rows through another statement.
        const start = over.order === 'asc' ? { date: 0, id: 0 } : { date: 1_800_000_000, id: 1e9 };
        for (let run = 0; run < 14; run++) assert.deepEqual(await s.listStreamEntries(q({ ...over, after: run % 2 ? undefined : start })), expected, `${JSON.stringify(over)}, run ${run}`);
      }
      // A migration from another process changes the type of a column these statements return:
      // PostgreSQL then refuses the prepared statements ("cached plan must not change result
      // type"), and the store prepares them again instead of failing.
      const other = await backend.kysely(url);
      await sql`alter table hunting_notifications alter column date type numeric`.execute(other);
      await other.destroy();
      const over = { tags: ['odd'], limit: 2 };
      const entries = await s.listStreamEntries(q(over));
      assert.deepEqual(entries, await plain.listStreamEntries(q(over)));
      assert.ok(entries.length === 2 && entries.every((e) => Number.isSafeInteger(e.date)));
    }
    assert.deepEqual(await names({ tags: ['odd', 'nope'] }), []);
    assert.deepEqual(await names({ scope: { ownerIds: [2], rulesetIds: [] }, tags: ['theirs'], limit: 2 }), ['theirs5', 'theirs4']);
    assert.deepEqual(await names({ dateFrom: 1_700_000_020, dateTo: 1_700_000_040 }), ['mine3', 'mine2']);
    assert.deepEqual(await names({ scope: { ownerIds: [2], rulesetIds: [] }, sourceIds: [other.id], limit: 1 }), ['other5']);
    const sha = (await s.getNotification(ids.mine2!))!.sha256;
    assert.deepEqual(await names({ entityId: sha }), ['mine2']);
    assert.deepEqual(await names({ scope: { ownerIds: [], rulesetIds: [theirs.id] }, entityId: sha }), ['theirs2']);
    const n3 = (await s.getNotification(ids.mine3!))!;
    assert.deepEqual(await names({ after: { date: n3.date, id: n3.id } }), ['mine2', 'mine1', 'mine0']);
    assert.deepEqual(await names({ order: 'asc', after: { date: n3.date, id: n3.id } }), ['mine4', 'mine5']);
    assert.deepEqual(await names({ tags: ['odd'], after: { date: n3.date, id: n3.id } }), ['mine1']);
    // listNotificationIds walks what listNotifications walks, in the same order, merged parts included.
    // (Led by one tag and narrowed only by dates and position, positions come from the tag rows alone.)
    for (const over of [
      {}, { tags: ['odd'] }, { order: 'asc' as const, after: { date: n3.date, id: n3.id } }, { scope: { ownerIds: [1, 2], rulesetIds: [theirs.id] }, limit: 7 },
      { tags: ['odd'], dateFrom: 1_700_000_010, dateTo: 1_700_000_050 }, { tags: ['mine'], order: 'asc' as const, after: { date: n3.date, id: n3.id }, limit: 1 },
      { tags: ['odd'], entityId: sha }, { tags: ['mine', 'odd'] },
    ]) {
      assert.deepEqual(await s.listNotificationIds(q(over)), (await s.listNotifications(q(over))).map((n) => n.id), JSON.stringify(over));
    }
    assert.equal(await s.countNotifications(q({}), 200), 6);
    assert.equal(await s.countNotifications(q({}), 4), 4, 'capped');
    assert.equal(await s.countNotifications(q({ tags: ['odd'], after: { date: n3.date, id: n3.id } }), 200), 3, 'the position does not narrow a count');
    assert.equal(await s.countNotifications(q({ scope: { ownerIds: [1, 2], rulesetIds: [] } }), 200), 18);
    // A new owner takes the notifications along, tags included.
    await s.updateRuleset(mine.id, { ownerId: 3 });
    assert.deepEqual(await names({ tags: ['odd'] }), []);
    assert.deepEqual(await names({ scope: { ownerIds: [3], rulesetIds: [] }, tags: ['odd'] }), ['mine5', 'mine3', 'mine1']);
    assert.equal(await s.deleteNotifications([ids.mine5!, ids.mine3!, 999_999]), 2);
    assert.deepEqual(await names({ scope: { ownerIds: [3], rulesetIds: [] }, tags: ['odd'] }), ['mine1']);
    assert.equal(await s.countNotifications(q({ scope: { ownerIds: [3], rulesetIds: [] }, tags: ['odd'] }), 200), 1, 'deleted with their tag rows');
    assert.equal(await s.countNotifications(q({ tags: ['odd'] }), 200), 0);
    assert.equal(await s.getNotification(ids.mine5!), null);
    assert.deepEqual((await s.getFiles([sha, sha.toUpperCase(), 'f'.repeat(64)])).map((f) => f.sha256), [sha]);
  });

  it('migrates notifications to the context as their only copy (0007) and back, keeping every field', async () => {
    const url = await backend.freshUrl();
    let s = await openStore(url, baseOpts);
    const r = await s.createRuleset(ruleset(1, 'old "quoted" \u00e9'));
    for (let i = 0; i < 3; i++) await analysed(s, `old${i}`, (sub) => [{
      ...note(r, sub, i === 1 ? 'nosnip' : 'x', 1_700_000_000 + i, ['t', `n${i}`]), ruleTags: ['Dropper', `r${i}`], matchInSubfile: i === 2, sourceCountry: i ? 'DE' : '',
    }]);
    const q: NotificationQuery = { scope: { ownerIds: [1], rulesetIds: [] }, order: 'desc', limit: 10 };
    const records = await s.listNotifications(q);
    const entries = await s.listStreamEntries(q);
    assert.equal(records.length, 3);
    assert.equal(records[1]!.snippet, null, 'no snippet reads back as null');
    assert.equal(JSON.parse(entries[1]!.context).hunting_info.snippet, undefined, 'no snippet, no attribute');
    assert.equal(records[0]!.snippet, '41 42  AB');
    await s.close();
    // Back to 0006: the columns are filled from the contexts.
    const db = await backend.kysely(url);
    try {
      await migrate(db, kind === 'sqlite' ? sqliteDialect : postgresDialect, '0006_stream_context');
      const old = await db.selectFrom('hunting_notifications').selectAll().orderBy('id', 'desc').execute() as any[];
      assert.deepEqual(old.map((o) => [o.ruleset_name, JSON.parse(o.tags), JSON.parse(o.rule_tags), o.snippet, o.source_key, o.source_country, Number(o.match_in_subfile)]),
        records.map((n) => [n.rulesetName, n.tags, n.ruleTags, n.snippet, n.sourceKey, n.sourceCountry, n.matchInSubfile ? 1 : 0]));
      // Rows stored before 0006 had no context.
      await db.updateTable('hunting_notifications').set({ stream_context: null as unknown as string }).where('id', '<>', records[0]!.id).execute();
    } finally {
      await db.destroy();
    }
    s = await openStore(url, baseOpts);
    try {
      assert.deepEqual(await s.listNotifications(q), records);
      assert.deepEqual(await s.listStreamEntries(q), entries);
    } finally {
      await s.close();
    }
  });

  it('queues one e-mail job per ruleset, with the notifications waiting for it', async () => {
    const s = await fresh();
    const r = await s.createRuleset(ruleset(1, 'mailed', { notificationEmails: ['a@example.org'] }));
    const quiet = await s.createRuleset(ruleset(1, 'quiet'));
    const now = Math.floor(Date.now() / 1000);
    const emails = { emails: true, emailDelayMs: 0 };
    await analysed(s, 'm1', (sub) => [note(r, sub, 'x', now), note(quiet, sub, 'x', now)], emails);
    await analysed(s, 'm2', (sub) => [note(r, sub, 'x', now)], emails);
    await analysed(s, 'm3', (sub) => [note(r, sub, 'y', now)], {});
    const jobs = (await s.claimJobs('w', 10, 60_000)).filter((j) => j.kind === 'email');
    assert.deepEqual(jobs.map((j) => j.payload), [{ rulesetId: r.id }]);
    const waiting = await s.takePendingEmails(r.id, 1);
    assert.equal(waiting.waiting, 2);
    assert.equal(waiting.notifications.length, 1);
    await s.clearPendingEmails(waiting.notifications.map((n) => n.id));
    assert.equal((await s.takePendingEmails(r.id, 10)).waiting, 1);
    assert.equal((await s.takePendingEmails(quiet.id, 10)).waiting, 0);
    await s.deleteJob(jobs[0]!.id);
    assert.equal(await s.pendingJobs(), 0);
  });

  it('live feed: a nudge delivers new notifications at once, each once, without waiting for the interval', async () => {
    const s = await fresh();
    const r = await s.createRuleset(ruleset(1, 'followed'));
    const now = Math.floor(Date.now() / 1000);
    await analysed(s, 'before', (sub) => [note(r, sub, 'old', now)]);
    const feed = new LiveFeed(s, 3_600_000, pino({ level: 'silent' })); // an interval no test waits for
    const got: string[] = [];
    const f = feed.follow(() => true, (e) => got.push(e.notification.ruleName), () => undefined);
    await f.ready;
    await analysed(s, 'new 1', (sub) => [note(r, sub, 'one', now)]);
    feed.nudge();
    await analysed(s, 'new 2', (sub) => [note(r, sub, 'two', now)]);
    feed.nudge(); // may come while the first nudge's poll runs: it polls again after it
    for (let t = Date.now(); got.length < 2 && Date.now() - t < 5000; ) await new Promise((res) => setTimeout(res, 10));
    feed.nudge();
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(got, ['one', 'two'], 'what was stored before following is not sent; nothing twice');
    f.stop();
    feed.close();
  });

  it('numbers ruleset changes so matchers can follow them', async () => {
    const s = await fresh();
    const g0 = await s.rulesGeneration();
    const a = await s.createRuleset(ruleset(1, 'a'));
    const b = await s.createRuleset(ruleset(1, 'b', { enabled: false }));
    const g1 = await s.rulesGeneration();
    assert.ok(g1 >= g0 + 2);
    assert.deepEqual((await s.enabledRulesetSources()).map((x) => x.id), [a.id]);
    await s.updateRuleset(a.id, { name: 'renamed' });
    assert.equal(await s.rulesGeneration(), g1, 'a rename changes nothing compiled');
    await s.updateRuleset(b.id, { enabled: true });
    await s.updateRuleset(a.id, { rules: 'rule z { condition: false }' });
    await s.deleteRuleset(a.id);
    const since = await s.rulesetChangesSince(g1);
    assert.deepEqual(since, { generation: g1 + 3, rulesetIds: [b.id, a.id] });
    assert.deepEqual(await s.rulesetChangesSince(g1 + 3), { generation: g1 + 3, rulesetIds: [] });
    assert.deepEqual((await s.enabledRulesetSources([a.id, b.id])).map((x) => [x.id, x.generation]), [[b.id, g1 + 1]]);
    assert.equal(await s.rulesetChangesSince(9_999_999), null, 'history it never saw counts as pruned');
    await s.recordSlowScan(b.id, { date: 5, sha256: 'f'.repeat(64), milliseconds: 1200, timedOut: true });
    await s.recordSlowScan(b.id, { date: 6, sha256: 'e'.repeat(64), milliseconds: 900, timedOut: false });
    const rb = await s.getRuleset(b.id);
    assert.equal(rb?.slowScans, 2);
    assert.deepEqual(rb?.lastSlowScan, { date: 6, sha256: 'e'.repeat(64), milliseconds: 900, timedOut: false });
  });

  it('upload URLs are one-time, expire, and only their owner spends them', async () => {
    const s = await fresh();
    await s.createUploadUrl('t1', 7, 1000);
    assert.equal(await s.consumeUploadUrl('unknown', 7, 500), null);
    assert.equal(await s.consumeUploadUrl('t1', 9, 500), 'not-yours');
    assert.equal(await s.consumeUploadUrl('t1', 7, 500), 'consumed', 'another user\'s try did not spend it');
    assert.equal(await s.consumeUploadUrl('t1', 7, 500), null);
    await s.createUploadUrl('t2', 7, 1000);
    assert.equal(await s.consumeUploadUrl('t2', 7, 1000), null, 'expired');
    await s.createUploadUrl('t3', 8, 1000);
    const results = await Promise.all(Array.from({ length: 10 }, () => s.consumeUploadUrl('t3', 8, 500)));
    assert.deepEqual(results.filter((r) => r !== null), ['consumed']);
  });


  it('stores rulesets with their editors, visible to owner and editors only', async () => {
    const s = await fresh();
    const base = {
      rules: 'rule a { condition: true }', enabled: false, limit: 100, notificationEmails: ['x@example.org'],
      matchObjectType: 'file', tags: ['t1'], ruleNames: ['a'], creationDate: 1_700_000_000, modificationDate: 1_700_000_000,
    };
    const r1 = await s.createRuleset({ ...base, ownerId: 1, name: 'one' });
    const r2 = await s.createRuleset({ ...base, ownerId: 2, name: 'two' });
    assert.notEqual(r1.id, r2.id);
    assert.deepEqual(await s.getRuleset(r1.id), {
      ...base, ownerId: 1, name: 'one', id: r1.id, editorIds: [], rulesGeneration: r1.rulesGeneration,
      rateLimit: { from: null, until: null, log: [] }, slowScans: 0, lastSlowScan: null,
    });
    assert.ok(r2.rulesGeneration > r1.rulesGeneration, 'each create is a new generation');
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.name), ['one']);
    await s.addRulesetEditor(r2.id, 1);
    await s.addRulesetEditor(r2.id, 1);
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.name), ['one', 'two']);
    assert.deepEqual((await s.getRuleset(r2.id))?.editorIds, [1]);
    assert.deepEqual(await s.sharedRulesets(1), [{ id: r2.id, ownerId: 2 }]);
    assert.deepEqual(await s.sharedRulesets(2), [], 'own rulesets are not shared ones');
    assert.equal((await s.findRulesetByName(2, 'two'))?.id, r2.id);
    assert.equal(await s.findRulesetByName(1, 'two'), null);
    const changed = await s.updateRuleset(r1.id, { enabled: true, name: 'uno', tags: [], modificationDate: 1_700_000_100 });
    assert.equal(changed?.enabled, true);
    assert.equal(changed?.name, 'uno');
    assert.deepEqual(changed?.tags, []);
    assert.equal(changed?.creationDate, 1_700_000_000);
    assert.equal(await s.updateRuleset(999_999, { name: 'x' }), null);
    assert.equal(await s.removeRulesetEditor(r2.id, 1), true);
    assert.equal(await s.removeRulesetEditor(r2.id, 1), false);
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.name), ['uno']);
    assert.equal(await s.deleteRuleset(r1.id), true);
    assert.equal(await s.deleteRuleset(r1.id), false);
    assert.equal(await s.getRuleset(r1.id), null);
  });

  if (kind === 'sqlite') {
    it('reports a database locked by another connection as TransientError', async () => {
      const url = await backend.freshUrl();
      const s = await openAt(url, { busyTimeoutMs: 50 });
      await s.addSubmission(submission('k'));
      const other = new BetterSqlite3(url.slice('sqlite:'.length));
      try {
        other.exec('BEGIN EXCLUSIVE');
        await assert.rejects(s.createUser({ username: 'u', isAdmin: false, apikeyHash: 'h', createdAt: 1 }),
          (e) => isCode('TransientError')(e) && /locked/.test((e as Error).message));
        await assert.rejects(s.addSubmission(submission('k2')), isCode('TransientError'));
        assert.equal((await s.getFile(hashes('k').sha256))?.timesSubmitted, 1, 'WAL readers are not blocked');
        other.exec('ROLLBACK');
      } finally {
        other.close();
      }
      assert.equal((await s.addSubmission(submission('k2'))).status, 'queued');
    });

    it('opens sqlite::memory: and refuses unknown URLs', async () => {
      const s = await openAt('sqlite::memory:');
      assert.equal(await s.setSettingIfAbsent('a', 'b'), 'b');
      await assert.rejects(openStore('mysql://x'), isCode('InvalidArgumentError'));
    });
  } else {
    it('reports an unreachable server as TransientError', async () => {
      await assert.rejects(openStore('postgres://postgres@127.0.0.1:1/trawl', { connectTimeoutMs: 2000 }),
        (e) => isCode('TransientError')(e) && /unavailable/.test((e as Error).message));
    });

    it('reports a connection killed mid-query as TransientError, then recovers', async () => {
      const url = await backend.freshUrl();
      const s = await openAt(url, { poolSize: 1 });
      const pg = (await import('pg')).default;
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        // Park the store's query on a lock, then kill its backend as an administrator would.
        await admin.query('begin; lock table settings in access exclusive mode');
        // Settled at once so that its rejection, which may arrive while the loop below still
        // awaits, is never unhandled.
        const pending = s.getSetting('x').then(
          () => assert.fail('the query on a killed connection resolved'),
          (e: unknown) => e,
        );
        let killed = 0;
        while (killed === 0) {
          const r = await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and wait_event_type = 'Lock'`);
          killed = r.rowCount ?? 0;
        }
        const e = await pending;
        assert.ok(isCode('TransientError')(e) && /unavailable/.test((e as Error).message), String(e));
        await admin.query('rollback');
      } finally {
        await admin.end();
      }
      // The killed connection may be handed out once more before its socket's close is seen
      // (pg-pool drops it then); such a call fails cleanly, and the store recovers right after.
      let value: string | null | undefined;
      for (let i = 0; i < 20 && value === undefined; i++) {
        value = await s.getSetting('x').catch((e) => {
          isCode('TransientError')(e);
          return sleep(50).then(() => undefined);
        });
      }
      assert.equal(value, null);
    });
  }
}

describe('SQLite store (writes on a worker thread)', () => contract('sqlite', sqliteBackend));
describe('SQLite store (one connection, caller thread)', () => contract('sqlite', sqliteBackend, { writerThread: false }));

const pgUrl = process.env.TRAWL_TEST_PG_URL;
describe('PostgreSQL store', { skip: pgUrl ? false : 'PostgreSQL not available: set TRAWL_TEST_PG_URL' }, () =>
  contract('postgres', () => postgresBackend(pgUrl ?? '')));
