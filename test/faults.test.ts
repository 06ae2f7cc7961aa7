// Faults under real conditions: blob storage full or read-only (real tmpfs mounts), a SQLite
// database locked by another connection, a PostgreSQL server that goes away. Each must answer
// with a VirusTotal-style error, and the API must show nothing of the failed upload.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { mapPostgresError } from '../src/store/postgres/postgres-dialect.js';
import { api, fileForm, isVtError, startTestService, waitForAnalysis } from './helpers/service.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Mounts a tmpfs on `dir`; on failure removes `dir` and says why. */
function tryMount(dir: string, opts: string): string | null {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { stdio: 'ignore' });
    return null;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    return `cannot mount tmpfs here (needs root): ${(e as Error).message.split('\n')[0]}`;
  }
}
/** Unmounts what tryMount mounted and removes the mount point. */
function umount(dir: string): void {
  execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
  rmSync(dir, { recursive: true, force: true });
}

/** A fresh database `name` on the test server `pg`: its URL, and what drops it. */
function freshDatabase(pg: string, name: string): { url: URL; drop(): void } {
  const db = `${name}_${process.pid}`;
  execFileSync('psql', [pg, '-qc', `DROP DATABASE IF EXISTS ${db}`, '-c', `CREATE DATABASE ${db}`], { stdio: 'ignore' });
  const url = new URL(pg);
  url.pathname = `/${db}`;
  return { url, drop: () => execFileSync('psql', [pg, '-qc', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`], { stdio: 'ignore' }) };
}

describe('faults', () => {
  it('answers TransientError when blob storage is full, and stores nothing', async (t) => {
    const blobDir = mkdtempSync(join(tmpdir(), 'trawl-full-'));
    const why = tryMount(blobDir, 'size=512k');
    if (why) return t.skip(why);
    const s = await startTestService({ blobDir });
    try {
      const big = randomBytes(2 * 1024 * 1024);
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(big));
      assert.ok(isVtError(r, 503, 'TransientError'), JSON.stringify(r.body));
      assert.match(r.body.error.message, /full/);
      assert.ok(isVtError(await api(s.url, s.adminKey, 'GET', `/api/v3/files/${sha256(big)}`), 404, 'NotFoundError'));
      const left = readdirSync(join(blobDir, 'tmp'), { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory());
      assert.deepEqual(left.map((e) => e.name), [], 'no partial blob left');
      const small = randomBytes(1000);
      const ok = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(small));
      assert.equal(ok.status, 200, 'the service recovers once space is there');
    } finally {
      await s.stop();
      umount(blobDir);
    }
  });

  it('answers TransientError when blob storage turns read-only', async (t) => {
    const blobDir = mkdtempSync(join(tmpdir(), 'trawl-ro-'));
    const why = tryMount(blobDir, 'size=4m');
    if (why) return t.skip(why);
    // Started on writable storage (a first start writes the deployment marker there), which
    // then turns read-only, as a failing disk's filesystem does.
    const s = await startTestService({ blobDir });
    execFileSync('mount', ['-o', 'remount,ro', blobDir], { stdio: 'ignore' });
    try {
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(1000)));
      assert.ok(isVtError(r, 503, 'TransientError'), JSON.stringify(r.body));
      assert.match(r.body.error.message, /not writable/);
    } finally {
      await s.stop();
      umount(blobDir);
    }
  });

  it('answers TransientError while SQLite is locked, and works again after', async () => {
    const s = await startTestService();
    const blocker = new Database(join(s.dir, 'trawl.db'));
    try {
      blocker.exec('BEGIN EXCLUSIVE');
      const content = randomBytes(500);
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
      assert.ok(isVtError(r, 503, 'TransientError'), JSON.stringify(r.body));
      blocker.exec('ROLLBACK');
      assert.ok(isVtError(await api(s.url, s.adminKey, 'GET', `/api/v3/files/${sha256(content)}`), 404, 'NotFoundError'));
      const again = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
      assert.equal(again.status, 200);
      await waitForAnalysis(s.url, s.adminKey, again.body.data.id);
    } finally {
      blocker.close();
      await s.stop();
    }
  });

  it('answers every write queued behind a held SQLite lock within one busy timeout, not one timeout each', async () => {
    const s = await startTestService();
    const blocker = new Database(join(s.dir, 'trawl.db'));
    try {
      blocker.exec('BEGIN EXCLUSIVE');
      const started = performance.now();
      // Six writes of different kinds in the writer's queue at once (uploads, rulesets), while
      // the service's own jobs queue theirs: each waited the 5 s busy timeout in turn before.
      const writes = await Promise.all([
        ...[1, 2, 3].map(() => api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(500)))),
        ...[1, 2, 3].map((i) => api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', {
          data: { type: 'hunting_ruleset', attributes: { name: `locked ${i}`, rules: `rule locked_${i} { strings: $a = "locked${i}" condition: $a }` } },
        })),
      ]);
      const seconds = (performance.now() - started) / 1000;
      for (const r of writes) assert.ok(isVtError(r, 503, 'TransientError'), JSON.stringify(r.body));
      assert.ok(seconds < 12, `the last write was answered after ${seconds.toFixed(1)} s`);
      blocker.exec('ROLLBACK');
      // The full busy timeout is back once a write gets through: a lock held for 1 s is waited out.
      const ok = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(500)));
      assert.equal(ok.status, 200);
      blocker.exec('BEGIN EXCLUSIVE');
      setTimeout(() => blocker.exec('ROLLBACK'), 1000);
      const waited = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(500)));
      assert.equal(waited.status, 200, JSON.stringify(waited.body));
    } finally {
      if (blocker.inTransaction) blocker.exec('ROLLBACK');
      blocker.close();
      await s.stop();
    }
  });

  it('answers TransientError while PostgreSQL is unreachable, and recovers', async (t) => {
    const pg = process.env.TRAWL_TEST_PG_URL;
    if (!pg) return t.skip('PostgreSQL not available: set TRAWL_TEST_PG_URL');
    // A TCP proxy in front of PostgreSQL that the test can cut, like a network or server outage.
    const target = new URL(pg);
    const sockets = new Set<Socket>();
    let up = true;
    const proxy = createServer((c) => {
      if (!up) return c.destroy();
      const u = connect(Number(target.port || 5432), target.hostname);
      sockets.add(c).add(u);
      c.pipe(u).pipe(c);
      const drop = () => { c.destroy(); u.destroy(); sockets.delete(c); sockets.delete(u); };
      c.on('error', drop).on('close', drop);
      u.on('error', drop).on('close', drop);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const port = (proxy.address() as { port: number }).port;
    const { url, drop } = freshDatabase(pg, 'trawl_faults');
    url.port = String(port);
    const s = await startTestService({ database: url.toString() });
    try {
      const first = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(100)));
      assert.equal(first.status, 200);
      up = false;
      for (const so of sockets) so.destroy();
      const content = randomBytes(300);
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
      assert.ok(isVtError(r, 503, 'TransientError'), JSON.stringify(r.body));
      const g = await api(s.url, s.adminKey, 'GET', `/api/v3/files/${sha256(content)}`);
      assert.ok(isVtError(g, 503, 'TransientError') || isVtError(g, 401, 'WrongCredentialsError') === false, JSON.stringify(g.body));
      // A load balancer's readiness probe says so, naming the database; liveness still answers.
      const ready = await api(s.url, null, 'GET', '/api/v3/ready');
      assert.ok(isVtError(ready, 503, 'TransientError'), JSON.stringify(ready.body));
      assert.match(ready.body.error.message, /^database unreachable/);
      assert.equal((await api(s.url, null, 'GET', '/api/v3/health')).status, 200);
      up = true;
      let again;
      for (let i = 0; i < 50; i++) {
        again = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
        if (again.status === 200) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(again!.status, 200, 'works again once the database is back');
      assert.equal((await api(s.url, null, 'GET', '/api/v3/ready')).status, 200, 'and is ready again');
      await waitForAnalysis(s.url, s.adminKey, again!.body.data.id);
    } finally {
      await s.stop();
      for (const so of sockets) so.destroy();
      proxy.close();
      drop();
    }
  });

  it('PostgreSQL cancels a statement past databaseStatementTimeout, answered as DeadlineExceededError; migrations are not bounded', async (t) => {
    const pg = process.env.TRAWL_TEST_PG_URL;
    if (!pg) return t.skip('PostgreSQL not available: set TRAWL_TEST_PG_URL');
    const { url, drop } = freshDatabase(pg, 'trawl_timeout');
    // A store opened with a 1 s bound migrates a fresh database (every migration runs unbounded).
    const s = await startTestService({ database: url.toString(), databaseStatementTimeout: '1' });
    try {
      assert.equal((await api(s.url, s.adminKey, 'GET', '/api/v3/users/admin')).status, 200);
    } finally {
      await s.stop();
    }
    const { default: pgLib } = await import('pg');
    const client = new pgLib.Client({ connectionString: url.toString(), statement_timeout: 200 });
    await client.connect();
    try {
      const err = await client.query('SELECT pg_sleep(2)').then(() => null, (e: unknown) => e);
      assert.ok(err, 'the statement was cancelled');
      assert.equal(mapPostgresError(err).code, 'DeadlineExceededError');
    } finally {
      await client.end();
      drop();
    }
  });

  it('PostgreSQL: the statements of a list whose client left are cancelled, not left running until the timeout', async (t) => {
    const pg = process.env.TRAWL_TEST_PG_URL;
    if (!pg) return t.skip('PostgreSQL not available: set TRAWL_TEST_PG_URL');
    const { url, drop } = freshDatabase(pg, 'trawl_cancel');
    const s = await startTestService({ database: url.toString() });
    const { default: pgLib } = await import('pg');
    const locker = new pgLib.Client({ connectionString: url.toString() });
    await locker.connect();
    // Watched from outside the lock's transaction: inside one, pg_stat_activity does not change.
    const watcher = new pgLib.Client({ connectionString: url.toString() });
    await watcher.connect();
    // The lists' statements stuck behind the lock below (a stand-in for one that runs long); they
    // are the store's compiled shapes (compiled-shapes.ts), which start with a marker.
    const waiting = async () => Number((await watcher.query(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock' AND query LIKE '/* shape */%'", [url.pathname.slice(1)],
    )).rows[0].n);
    const until = async (what: string, ok: () => Promise<boolean>, ms: number) => {
      const end = Date.now() + ms;
      while (!(await ok())) {
        if (Date.now() > end) assert.fail(`${what} within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    try {
      const created = await api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'c', enabled: true, rules: 'rule c { condition: true }' } } });
      assert.equal(created.status, 200);
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE hunting_notifications IN ACCESS EXCLUSIVE MODE');
      for (const path of ['/api/v3/ioc_stream?filter=tag:x', '/api/v3/intelligence/hunting_notification_files', '/api/v3/intelligence/hunting_notifications?filter=tag:x']) {
        const req = request(`${s.url}${path}`, { headers: { 'x-apikey': s.adminKey } });
        req.on('error', () => undefined);
        req.end();
        await until(`${path}: its statement waits on the lock`, async () => (await waiting()) > 0, 10_000);
        req.destroy();
        await until(`${path}: its statements cancelled after the client left`, async () => (await waiting()) === 0, 3000);
      }
      await locker.query('ROLLBACK');
      // Connections whose statement was cancelled were dropped, and the service reads on.
      const after = await api(s.url, s.adminKey, 'GET', '/api/v3/ioc_stream');
      assert.equal(after.status, 200);
    } finally {
      await locker.end().catch(() => undefined);
      await watcher.end().catch(() => undefined);
      await s.stop();
      drop();
    }
  });
});
