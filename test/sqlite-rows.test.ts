// The SQLite store reads rows as arrays and builds the objects itself (sqlite-store.ts,
// arrayRows): the rows must be exactly what better-sqlite3 would have returned.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
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
