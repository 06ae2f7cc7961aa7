// The SQLite store reads rows as arrays and builds the objects itself (sqlite-store.ts,
// arrayRows): the rows must be exactly what better-sqlite3 would have returned. Its list
// statements bound their own time (row-guard.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { TrawlError } from '../src/model/errors.js';
import { openStore } from '../src/store/open-store.js';
import { arrayRows } from '../src/store/sqlite/sqlite-store.js';

function database(): BetterSqlite3.Database {
  const db = new BetterSqlite3(':memory:');
  db.exec(`create table t (id integer primary key, name text, data blob, score real);
    insert into t (name, data, score) values ('a', x'00ff', 1.5), (null, null, null), ('c"\\', x'', -2)`);
  return db;
}

/** The same query both ways: better-sqlite3's own objects, and arrayRows'. */
function both(db: BetterSqlite3.Database, sql: string, params: unknown[] = []) {
  return { theirs: db.prepare(sql).all(params), ours: arrayRows(db.prepare(sql)).all(params) };
}

describe('SQLite rows read as arrays', () => {
  it('gives the objects better-sqlite3 gives, for every value type and odd column names', () => {
    const db = database();
    for (const sql of [
      'select * from t order by id',
      'select id, name as "we""ird\\ name\n", data as "}; throw 1; {" from t where id > ?',
      'select t.id, u.id, u.name from t join t as u on u.id = t.id', // duplicate names: the last wins
      'select count(*) from t',
      'select * from t where id < 0', // no rows
    ]) {
      const { theirs, ours } = both(db, sql, sql.includes('?') ? [1] : []);
      assert.deepEqual(ours, theirs, sql);
      for (const [i, row] of ours.entries()) assert.deepEqual(Object.keys(row as object), Object.keys(theirs[i] as object), sql);
    }
  });

  it('leaves a statement with a __proto__ column as better-sqlite3 returns it', () => {
    const db = database();
    const { theirs, ours } = both(db, 'select id as __proto__, name from t order by id');
    assert.deepEqual(ours, theirs);
    assert.equal(Object.getPrototypeOf(ours[0]), Object.prototype);
  });

  it('iterates, runs writes, and returns the rows of INSERT ... RETURNING', () => {
    const db = database();
    const stmt = arrayRows(db.prepare('select id, name from t order by id'));
    assert.deepEqual([...stmt.iterate([])], db.prepare('select id, name from t order by id').all());
    const write = arrayRows(db.prepare("update t set score = 0 where name = 'a'"));
    assert.equal(write.reader, false);
    assert.equal(write.run([]).changes, 1);
    const ins = arrayRows(db.prepare("insert into t (name) values ('d') returning id, name"));
    assert.equal(ins.reader, true);
    assert.deepEqual(ins.all([]), [{ id: 4, name: 'd' }]);
  });
});

describe('SQLite list statements bounded in time', () => {
  /** A store at `path` with N notifications of one user, each tagged `common` and `even` or `odd`. */
  async function filled(path: string, n: number) {
    const store = await openStore(`sqlite:${path}`, { writerThread: false });
    const user = await store.createUser({ username: 'u', isAdmin: false, apikeyHash: 'h', createdAt: 0 });
    await store.close();
    const raw = new BetterSqlite3(path);
    raw.exec(`insert into hunting_notifications (owner_id, ruleset_id, date, entity_type, sha256, submission_id, rule_name, stream_context)
      select ${user.id}, 1, 1000 + i, 'file', printf('%064x', i), i, 'r', '{}'
      from (with recursive s(i) as (select 1 union all select i + 1 from s where i < ${n}) select i from s);
      insert into hunting_notification_tags (owner_id, tag, date, notification_id) select owner_id, 'common', date, id from hunting_notifications;
      insert into hunting_notification_tags (owner_id, tag, date, notification_id)
        select owner_id, case when id % 2 then 'odd' else 'even' end, date, id from hunting_notifications;`);
    raw.close();
    return user.id;
  }

  it('fails a list past databaseStatementTimeout with DeadlineExceededError, and answers in time without the bound', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trawl-bound-'));
    try {
      const path = join(dir, 'trawl.db');
      // 1M rows: the unguarded walk must take many times the 30 ms bound even on a fast machine
      // (300k took 74 ms on CI, too close to a cut at 30 ms plus the clock's granularity).
      const owner = await filled(path, 1_000_000);
      // Two common tags never on the same notification: the walk visits every row of one.
      const q = { scope: { ownerIds: [owner], rulesetIds: [] }, tags: ['even', 'odd'], order: 'desc' as const, limit: 41 };
      const bounded = await openStore(`sqlite:${path}`, { writerThread: false, statementTimeoutMs: 30 });
      const unbounded = await openStore(`sqlite:${path}`, { writerThread: false, readOnly: true });
      try {
        let t = performance.now();
        assert.deepEqual(await unbounded.listNotificationIds(q), []);
        const whole = performance.now() - t;
        t = performance.now();
        const err = await bounded.listNotificationIds(q).then(() => null, (e: unknown) => e);
        const cut = performance.now() - t;
        assert.ok(err instanceof TrawlError && err.code === 'DeadlineExceededError', `bounded: ${String(err)}`);
        assert.ok(cut < whole / 3, `cut after ${cut.toFixed(0)} ms; the whole walk took ${whole.toFixed(0)} ms`);
        await assert.rejects(bounded.countNotifications(q, 1000), (e: unknown) => e instanceof TrawlError && e.code === 'DeadlineExceededError');
        // A list that finds its rows at once is not cut, and the next statement has its own clock.
        assert.equal((await bounded.listNotificationIds({ ...q, tags: ['common'] })).length, 41);
        assert.equal(await bounded.countNotifications({ ...q, tags: ['common'] }, 1000), 1000);
        // A tag on none of the owner's notifications makes the list empty without a walk.
        t = performance.now();
        assert.deepEqual(await bounded.listNotificationIds({ ...q, tags: ['common', 'absent'] }), []);
        assert.equal(await bounded.countNotifications({ ...q, tags: ['common', 'absent'] }, 1000), 0);
        assert.ok(performance.now() - t < 30, `absent tag: ${(performance.now() - t).toFixed(0)} ms`);
        // The rarest tag leads, whatever the order given: the same rows either way.
        assert.deepEqual(await bounded.listNotificationIds({ ...q, tags: ['common', 'odd'] }), await unbounded.listNotificationIds({ ...q, tags: ['odd', 'common'] }));
      } finally {
        await bounded.close();
        await unbounded.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
