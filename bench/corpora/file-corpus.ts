// Stored files generated directly in a Trawl database, for the Intelligence search benchmark:
// file `i` has sha256 = i in hex, a type by i % 20 (30% peexe, 10% pdf, 10% zip, 5% elf, 45%
// text; ten in a million have a magic text of their own), a name `file-<i>.<ext>`, sizes spread
// over 0-10 MB, a submission every STEP seconds and a last one up to 4 days later. Every text
// file with i % 20 = 12 is inside the zip i - 4 (file_children); every 100th file is in a
// notification of the admin's (user 1), rule_<0-9>.
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { toFile } from '../../src/store/sql/rows.js';

export const START = 1_700_000_000;
export const STEP = 30;

interface FileType { upTo: number; tag: string; magic: string; tags: string; ext: string }
/** By i % 20: the first row whose upTo is >= it. */
const TYPES: FileType[] = [
  { upTo: 5, tag: 'peexe', magic: 'PE32 executable (GUI) Intel 80386, for MS Windows', tags: '["executable","windows","win32","pe","peexe"]', ext: 'exe' },
  { upTo: 7, tag: 'pdf', magic: 'PDF document, version 1.7', tags: '["pdf"]', ext: 'pdf' },
  { upTo: 9, tag: 'zip', magic: 'Zip archive data, at least v2.0 to extract', tags: '["compressed","zip"]', ext: 'zip' },
  { upTo: 10, tag: 'elf', magic: 'ELF 64-bit LSB executable, x86-64', tags: '["executable","linux","elf"]', ext: 'elf' },
  { upTo: 19, tag: 'text', magic: 'ASCII text', tags: '["text"]', ext: 'txt' },
];
export const typeOf = (i: number) => TYPES.find((t) => i % 20 <= t.upTo)!;
/** Files i with i % 100,000 = this have a magic text of their own, `Rare format <i>` (10 in 1M). */
export const RARE_MAGIC_AT = 77;
export const sha256Of = (i: number) => i.toString(16).padStart(64, '0');
export const md5Of = (i: number) => sha256Of(i).slice(32);
// (i % 1263) keeps the product within PostgreSQL's int4, the type generate_series gives i.
export const sizeOf = (i: number) => 100 + (((i % 1263) * 7919) % 10_000_000);
export const firstOf = (i: number) => START + i * STEP;
export const lastOf = (i: number) => firstOf(i) + (i % 97) * 3600;

type Sql = { hex: (e: string) => string; cat: (...p: string[]) => string; range: (from: number, to: number) => string };

function inserts(n: number, { hex, cat, range }: Sql): string[] {
  const pick = (field: keyof FileType) => `case ${TYPES.map((t) => `when (i % 20) <= ${t.upTo} then '${t[field]}'`).join(' ')} end`;
  const tags = cat("'[\"'", pick('tag'), "'\"'", "case when (i % 50) = 0 then ',\"overlay\"' else '' end", "']'");
  return [
    `insert into files (sha256, sha1, md5, size, magic, type_description, type_tag, type_tags, type_extension, tags, names,
       first_submission_date, last_submission_date, last_analysis_date, times_submitted, unique_sources)
     select ${hex('i')}, substr(${hex('i')}, 25, 40), substr(${hex('i')}, 33, 32), 100 + (((i % 1263) * 7919) % 10000000),
       case when (i % 100000) = ${RARE_MAGIC_AT} then ${cat("'Rare format '", 'i')} else ${pick('magic')} end, ${pick('tag')}, ${pick('tag')},
       ${pick('tags')}, ${pick('ext')}, ${tags}, ${cat("'[\"file-'", 'i', "'.'", pick('ext'), "'\"]'")},
       ${START} + i * ${STEP}, ${START} + i * ${STEP} + (i % 97) * 3600, ${START} + i * ${STEP}, 1 + (i % 7), 1
     from ${range(0, n - 1)}`,
    `insert into file_children (parent_sha256, child_sha256, name)
     select ${hex('i - 4')}, ${hex('i')}, ${cat("'dir/file-'", 'i', "'.txt'")} from ${range(0, n - 1)} where (i % 20) = 12`,
    `insert into hunting_notifications (owner_id, ruleset_id, date, entity_type, sha256, submission_id, rule_name, stream_context)
     select 1, 1, ${START} + i * ${STEP}, 'file', ${hex('i')}, i, ${cat("'rule_'", '(i / 100) % 10')}, '{}' from ${range(0, n - 1)} where (i % 100) = 0`,
  ];
}

/** Throws unless sample rows read back, through Trawl's own reader, as the files meant. */
function check(rows: Parameters<typeof toFile>[0][]): void {
  assert.equal(rows.length, 3);
  for (const r of rows) {
    const f = toFile(r);
    const i = parseInt(f.sha256, 16);
    assert.deepEqual([f.md5, f.size, f.typeTag, f.names, f.lastSubmissionDate], [md5Of(i), sizeOf(i), typeOf(i).tag, [`file-${i}.${typeOf(i).ext}`], lastOf(i)]);
  }
}
const sample = (n: number) => `select * from files where sha256 in ('${sha256Of(1)}', '${sha256Of(12)}', '${sha256Of(n - 1)}')`;

export function generateSqliteFiles(path: string, n: number): void {
  const db = new BetterSqlite3(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  const range = (from: number, to: number) => `(with recursive n(i) as (select ${from} union all select i + 1 from n where i < ${to}) select i from n)`;
  // `||` binds tighter than `%` in SQLite: every part is parenthesised.
  const stmts = inserts(n, { hex: (e) => `printf('%064x', ${e})`, cat: (...p) => p.map((x) => `(${x})`).join(' || '), range });
  db.transaction(() => { for (const s of stmts) db.exec(s); })();
  db.exec('analyze');
  check(db.prepare(sample(n)).all() as Parameters<typeof check>[0]);
  db.close();
}

export async function generatePostgresFiles(url: string, n: number): Promise<void> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const range = (from: number, to: number) => `generate_series(${from}, ${to}) as g(i)`;
    for (const s of inserts(n, { hex: (e) => `lpad(to_hex(${e}), 64, '0')`, cat: (...p) => `concat(${p.join(', ')})`, range })) await c.query(s);
    await c.query('vacuum analyze');
    await c.query('checkpoint');
    check((await c.query(sample(n))).rows);
  } finally {
    await c.end();
  }
}
