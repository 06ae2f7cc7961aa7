// The Store contract: migrations, settings and the database failing. Run against every
// implementation (SQLite with and without its writer thread, PostgreSQL;
// test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { it } from 'node:test';
import { sql } from 'kysely';
import { openStore } from '../src/store/open-store.js';
import { postgresDialect } from '../src/store/postgres/postgres-dialect.js';
import { sqliteDialect } from '../src/store/sqlite/sqlite-dialect.js';
import { migrate } from '../src/store/sql/migrations.js';
import type { NotificationQuery } from '../src/store/store.js';
import { note, hashes, submission, isCode, sleep, OPEN_STORE_MODULE, ruleset, analysed, storeContract } from './helpers/store-contract.js';

storeContract('migrations, settings and the database failing', ({ kind, backend, openAt, fresh, baseOpts, open }) => {
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

  it('ping resolves while the database answers', async () => {
    const s = await fresh();
    await s.ping();
    await s.ping();
  });

  it('setSettingIfAbsent keeps the first value', async () => {
    const s = await fresh();
    assert.equal(await s.getSetting('secret'), null);
    assert.equal(await s.setSettingIfAbsent('secret', 'one'), 'one');
    assert.equal(await s.setSettingIfAbsent('secret', 'two'), 'one');
    assert.equal(await s.getSetting('secret'), 'one');
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
});
