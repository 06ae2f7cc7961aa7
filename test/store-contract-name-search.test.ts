// The Store contract: `name:` and `magic:` searches through the trigram indexes
// (store/sql/trigram-index.ts) find exactly what a scan of the texts finds, on every
// implementation: rare and common values (each side of MAX_CANDIDATES on SQLite), values too short
// for trigrams, LIKE's and JSON's special characters, names added by re-submission and by
// extraction, magic set by analyses, files stored before the indexes (migration 0021's back-fill),
// a table copy, in order and page after page; and PostgreSQL without the right to install pg_trgm.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql, type Kysely } from 'kysely';
import type { SearchOrder } from '../src/model/file-search.js';
import type { FileRecord } from '../src/model/records.js';
import { parseSearchQuery } from '../src/search/search-query.js';
import { postgresDialect } from '../src/store/postgres/postgres-dialect.js';
import { sqliteDialect } from '../src/store/sqlite/sqlite-dialect.js';
import { MAX_CANDIDATES } from '../src/store/sql/file-search.js';
import { migrate } from '../src/store/sql/migrations.js';
import type { Database } from '../src/store/sql/schema.js';
import type { Store } from '../src/store/store.js';
import { openCopyableStore } from '../src/store/open-store.js';
import { hashes, sqliteBackend, storeContract, submission } from './helpers/store-contract.js';

const NOW = 1_700_100_000;
const DESC: SearchOrder = { field: 'last_submission_date', dir: 'desc' };
const PLAIN = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };

/** The sha256s `query` finds, page after page of `limit`. */
async function walk(s: Store, query: string, limit: number, order = DESC): Promise<string[]> {
  const out: string[] = [];
  let after = null;
  for (;;) {
    const page = await s.searchFiles({ expr: parseSearchQuery(query, NOW), order, after, limit, userId: 1 });
    out.push(...page.map((f) => f.sha256));
    if (page.length < limit) return out;
    const last = page[page.length - 1]!;
    after = { value: order.field === 'size' ? last.size : last.lastSubmissionDate, sha256: last.sha256 };
  }
}

/**
 * What a scan finds: the files whose names (their JSON text, ASCII letters lower-cased, as SQL's
 * lower() and LIKE treat them) hold the value as the parser reads it, in the order's order.
 */
function scan(files: FileRecord[], value: string, also: (f: FileRecord) => boolean = () => true, order = DESC): string[] {
  const pattern = JSON.stringify(value.toLowerCase()).slice(1, -1);
  const key = (f: FileRecord) => (order.field === 'size' ? f.size : f.lastSubmissionDate);
  const sign = order.dir === 'desc' ? -1 : 1;
  return files
    .filter((f) => JSON.stringify(f.names).replace(/[A-Z]/g, (c) => c.toLowerCase()).includes(pattern) && also(f))
    .sort((a, b) => sign * (key(a) - key(b) || (a.sha256 < b.sha256 ? -1 : 1)))
    .map((f) => f.sha256);
}

/** The files `match` keeps, in the order's order. */
const scanBy = (files: FileRecord[], match: (f: FileRecord) => boolean, order = DESC) => scan(files, '', match, order);

/** Stores `content` as `name` at `date`, analysed (with `subfiles` extracted from it). */
async function stored(s: Store, content: string, date: number, name: string | null, subfiles: { content: string; name: string }[] = [], typeTag = 'unknown', magic = 'data') {
  const sub = await s.addSubmission(submission(content, { date, name }));
  const [job] = await s.claimJobs('w', 1, 60_000);
  await s.completeAnalysis(job!.id, sub.id, { ...PLAIN, typeTag, magic }, date, [], {
    subfiles: subfiles.map((c) => ({ ...hashes(c.content), analysis: PLAIN, parents: [{ sha256: sub.sha256, name: c.name }] })),
  });
  return sub.sha256;
}

/** `n` files written straight into `files` (as an older Trawl or a bulk load would): `bulk-<i>.txt`, newest last. */
async function bulkFiles(db: Kysely<Database>, kind: 'sqlite' | 'postgres', n: number): Promise<void> {
  const hex = kind === 'sqlite' ? (e: string) => sql.raw(`printf('%064x', ${e})`) : (e: string) => sql.raw(`lpad(to_hex(${e}), 64, '0')`);
  const name = kind === 'sqlite' ? sql.raw(`'["bulk-' || i || '.txt"]'`) : sql.raw(`concat('["bulk-', i, '.txt"]')`);
  const range = kind === 'sqlite'
    ? sql.raw(`(with recursive r(i) as (select 1 union all select i + 1 from r where i < ${n}) select i from r)`)
    : sql.raw(`generate_series(1, ${n}) as g(i)`);
  await sql`insert into files (sha256, sha1, md5, size, magic, type_description, type_tag, type_tags, type_extension, tags, names,
      first_submission_date, last_submission_date, last_analysis_date, times_submitted, unique_sources)
    select ${hex('i')}, substr(${hex('i')}, 25, 40), substr(${hex('i')}, 33, 32), 100 + i % 7, 'data', 'unknown', 'unknown', '[]', '', '[]', ${name},
      ${NOW - 100_000} + i, ${NOW - 100_000} + i, ${NOW - 100_000} + i, 1, 1 from ${range}`.execute(db);
  if (kind === 'postgres') await sql`analyze files`.execute(db);
}

storeContract('name: searches through the trigram index', ({ kind, backend, open, openAt, fresh }) => {
  it('finds exactly what a scan finds: rare, common and short values, special characters, re-submissions, subfiles', async () => {
    const s = await fresh();
    assert.deepEqual(await s.missingIndexes(), [], 'the index is there');
    const names = ['Invoice_2024-03.PDF', 'invoice-final.pdf', 'setup_100%.exe', 'a"quoted"name.txt', 'back\\slash.bin', 'überweisung.pdf',
      'report.docx', 'REPORT.DOCX.exe', 'x.y', 'ab', 'notes.txt', 'notes (1).txt', 'Setup.EXE', 'data.bin', 'malware.js',
      'Quarterly-Report-2024-Final-Version-Approved.xlsx'];
    const shas: string[] = [];
    const magics = ['PE32 executable (GUI) Intel 80386, for MS Windows', 'PDF document, version 1.4', 'ASCII text, with CRLF line terminators', 'Zip archive data', 'data', '100% "odd" magic_text'];
    for (const [i, n] of names.entries()) shas.push(await stored(s, `content ${i}`, NOW - 1000 + i * 7 - (i % 3) * 20, n, [], i % 2 ? 'peexe' : 'pdf', magics[i % magics.length]));
    // Names added later: by re-submission (a second name, and one already known) and by extraction.
    await s.addSubmission(submission('content 10', { date: NOW, name: 'Renamed-Dropper.EXE', sourceKey: 'other' }));
    await s.addSubmission(submission('content 11', { date: NOW - 5, name: 'notes (1).txt', sourceKey: 'other' }));
    shas.push(await stored(s, 'an archive', NOW - 40, 'bundle.zip', [{ content: 'inner', name: 'dir/Payload-Inner.dll' }, { content: 'content 3', name: 'other/Second-Name.txt' }]));
    shas.push(hashes('inner').sha256);
    const files = await s.getFiles(shas);
    assert.equal(files.length, shas.length);

    // Written as a client would; the scan looks for the value as the parser reads it.
    const queries = ['invoice', 'INVOICE_2024', 'nvoice-f', 'setup_100%', 'p_1', '100%.', 'a"quoted"n', '"quoted"', 'back\\sl', 'überw', '.pdf', '.exe', 'txt',
      'renamed-dropper', 'dropper.exe', 'payload-inner', 'second-name', '"notes (1)"', '"s ("', 'x.y', 'ab', 'b', '.', '%', '_', 'e.', 'nothing-like-it', 'exe","',
      // More trigrams than one lookup takes (MAX_TRIGRAMS): some of them narrow, the LIKE decides.
      'quarterly-report-2024-final-version-appr', 'quarterly-report-2024-final-version-appx'];
    for (const q of queries) {
      const expr = parseSearchQuery(`name:${q}`, NOW);
      assert.ok(expr.kind === 'term' && expr.term.kind === 'name');
      const want = scan(files, expr.term.value);
      for (const limit of [2, 100]) assert.deepEqual(await walk(s, `name:${q}`, limit), want, `name:${q} by ${limit}`);
    }
    assert.ok(scan(files, 'renamed-dropper').length === 1 && scan(files, 'second-name').length === 1, 'the added names are there to find');
    // With other terms, negated, in another order.
    const isPe = (f: FileRecord) => f.typeTag === 'peexe';
    assert.deepEqual(await walk(s, 'name:report type:peexe', 3), scan(files, 'report', isPe));
    const has = (v: string) => (f: FileRecord) => scan([f], v).length > 0;
    assert.deepEqual(await walk(s, 'name:invoice OR name:notes', 3), scan(files, '', (f) => has('invoice')(f) || has('notes')(f)));
    assert.deepEqual(await walk(s, '-name:invoice -name:ab', 4), scan(files, '', (f) => !has('invoice')(f) && !has('ab')(f)));
    // magic: the same way (the subfiles' magic is PLAIN's `data`).
    for (const q of ['pe32', '"intel 80386"', 'PDF', '"version 1.4"', 'crlf', 'zip', 'da', 'a', '"ascii text,"', '100%', '"odd"', 'c_t', 'nothing-like-it']) {
      const expr = parseSearchQuery(`magic:${q}`, NOW);
      assert.ok(expr.kind === 'term' && expr.term.kind === 'magic');
      const value = expr.term.value;
      const want = scanBy(files, (f) => (f.magic ?? '').replace(/[A-Z]/g, (c) => c.toLowerCase()).includes(value));
      assert.ok(q === 'nothing-like-it' || want.length > 0, q);
      for (const limit of [2, 100]) assert.deepEqual(await walk(s, `magic:${q}`, limit), want, `magic:${q} by ${limit}`);
    }
    assert.deepEqual(await walk(s, 'magic:pe32 name:setup', 2), scanBy(files, (f) => has('setup')(f) && (f.magic ?? '').includes('PE32')));
    const bySize: SearchOrder = { field: 'size', dir: 'asc' };
    assert.deepEqual(await walk(s, 'name:.pdf', 2, bySize), scan(files, '.pdf', () => true, bySize));
  });

  it(`answers values with more than ${MAX_CANDIDATES} candidates, and fewer, among files stored before the index`, async () => {
    const n = MAX_CANDIDATES + 50;
    const url = await backend.freshUrl();
    const db = await backend.kysely(url);
    try {
      // A database of the version before the index, its files written there; the store migrates it.
      await migrate(db, kind === 'sqlite' ? sqliteDialect : postgresDialect, '0020_community_rules');
      await bulkFiles(db, kind, n);
    } finally {
      await db.destroy();
    }
    const s = await openAt(url);
    const named = await stored(s, 'stored after', NOW, 'bulk-new.txt', [], 'unknown', 'Rare-Magic v7 text');
    const files = await s.getFiles([...Array.from({ length: n }, (_, i) => (i + 1).toString(16).padStart(64, '0')), named]);
    assert.equal(files.length, n + 1);
    // bulk-: every file, more candidates than the bound (the walk); k-1 (1,111 files), -9 (111) and
    // the others, fewer (through the index).
    assert.ok(scan(files, 'bulk-').length > MAX_CANDIDATES && scan(files, 'k-1').length === 1111);
    for (const v of ['bulk-1004', 'k-1', 'bulk-', 'bulk-new', '-9', 'lk-20']) {
      assert.deepEqual(await walk(s, `name:${v}`, v === 'bulk-' ? 500 : 7), scan(files, v), v);
    }
    // magic: `data` on every bulk file (the walk), one rare text (the index).
    assert.deepEqual(await walk(s, 'magic:"rare-magic v"', 5), [named]);
    assert.deepEqual(await walk(s, 'magic:data', 500), scanBy(files, (f) => (f.magic ?? '').includes('data')));
    assert.deepEqual(await walk(s, 'magic:ta', 500), scanBy(files, (f) => (f.magic ?? '').includes('ta')));
    assert.deepEqual(await walk(s, 'name:k-1 size:105+', 3), scan(files, 'k-1', (f) => f.size >= 105));
    if (kind === 'postgres') {
      // The terms' expressions are the indexes': PostgreSQL reads them for a rare value.
      const check = await backend.kysely(url);
      try {
        const { rows } = await sql<{ 'QUERY PLAN': string }>`explain select * from files f where lower(f.names) like '%bulk-1004%' escape '\\'
          order by last_submission_date desc, sha256 desc limit 8`.execute(check);
        assert.match(rows.map((r) => r['QUERY PLAN']).join('\n'), /files_names_trgm_idx/);
        const { rows: magic } = await sql<{ 'QUERY PLAN': string }>`explain select * from files f where lower(coalesce(f.magic, '')) like '%rare-magic v%' escape '\\'
          order by last_submission_date desc, sha256 desc limit 8`.execute(check);
        assert.match(magic.map((r) => r['QUERY PLAN']).join('\n'), /files_magic_trgm_idx/);
      } finally {
        await check.destroy();
      }
    }
  });

  it('finds the names of files copied by trawl migrate into a SQLite database', async () => {
    const source = await openCopyableStore(await backend.freshUrl());
    const target = sqliteBackend();
    const into = await openCopyableStore(await target.freshUrl());
    try {
      const a = await stored(source, 'copied one', NOW - 10, 'Copied-Report.pdf', [{ content: 'copied inner', name: 'x/Inner-Copy.txt' }]);
      await source.addSubmission(submission('copied one', { date: NOW, name: 'second-copy-name.pdf', sourceKey: 'other' }));
      await source.copyTablesTo(into, { batchSize: 1 });
      for (const [v, want] of [['copied-report', [a]], ['second-copy', [a]], ['inner-copy', [hashes('copied inner').sha256]], ['copy', [a, hashes('copied inner').sha256]]] as const) {
        assert.deepEqual((await walk(into, `name:${v}`, 10)).sort(), [...want].sort(), v);
      }
    } finally {
      await into.close();
      await source.close();
      await target.cleanup();
    }
  });

  it('without the right to install pg_trgm: opens, says what to run, and answers by scanning', { skip: kind !== 'postgres' && 'SQLite\'s index is built in' }, async () => {
    const url = new URL(await backend.freshUrl());
    const role = `trawl_noext_${process.pid}`;
    const admin = await backend.kysely(url.toString());
    try {
      // May create tables (CREATE on the schema) but not extensions (no CREATE on the database).
      await sql.raw(`drop role if exists ${role}`).execute(admin);
      await sql.raw(`create role ${role} login`).execute(admin);
      await sql.raw(`grant usage, create on schema public to ${role}`).execute(admin);
      const asRole = new URL(url);
      asRole.username = role;
      const s = await openAt(asRole.toString());
      const [missing, ...more] = await s.missingIndexes();
      assert.equal(more.length, 0);
      assert.match(missing!, /pg_trgm could not be installed.*CREATE EXTENSION IF NOT EXISTS pg_trgm; create index files_names_trgm_idx/);
      const a = await stored(s, 'unindexed', NOW, 'Unindexed-Name.txt');
      assert.deepEqual(await walk(s, 'name:unindexed-n', 5), [a]);
      assert.deepEqual(await walk(s, 'name:other', 5), []);
      await s.close();
      open.splice(open.indexOf(s), 1);
      // Once an operator ran what it said, the warning is gone.
      for (const stmt of missing!.slice(missing!.indexOf('CREATE EXTENSION')).split(';').filter((x) => x.trim())) await sql.raw(stmt).execute(admin);
      const again = await openAt(asRole.toString());
      assert.deepEqual(await again.missingIndexes(), []);
      assert.deepEqual(await walk(again, 'name:unindexed-n', 5), [a]);
    } finally {
      for (const s of open.splice(0)) await s.close();
      await sql.raw(`drop owned by ${role}`).execute(admin).catch(() => undefined);
      await sql.raw(`drop role if exists ${role}`).execute(admin).catch(() => undefined);
      await admin.destroy();
    }
  });
});
