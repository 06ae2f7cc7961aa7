// The content index against brute force and grep, over a corpus of real files (issue 26):
//  1. small-file intake (analyses completed per second) with the index and without;
//  2. a corpus of >= 200,000 stored files and subfiles (real files of /usr, /root, /var, /opt,
//     /etc up to 256 KB): the index's size against the corpus's;
//  3. Retrohunt jobs with one 8-byte literal (taken from stored files) through the index, then
//     one by brute force (the same server restarted with the index off), with identical results;
//     `xargs grep -lF` over the same files on disk alongside;
//  4. `content:` searches of 8-byte literals: p50/p99 latency (when the search route exists).
//
//   node dist/bench/content-index.js [FILES=200000] [SMALL=4000] [PARTS=intake,corpus]
//
// PARTS `search`: the corpus (ingested or kept), then its `content:` searches alone (4.): to compare
// builds on one kept corpus.
//
// BENCH_INDEX_KEEP=FILE.json keeps the corpus's data folder (named in FILE) and reuses it in the
// next run with the same FILES: its ingest takes half an hour on 2 cores, and is no figure.
import { execFileSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { corpus, type CorpusFile } from './corpora/corpus.js';
import { getJson, MB, pct, pool, request, startServer, table, upload, verdict, waitCompleted, type Server } from './lib/lib.js';

const FILES = Number(process.argv[2] ?? 200_000);
const SMALL = Number(process.argv[3] ?? 4000);
const PARTS = new Set((process.argv[4] ?? 'intake,corpus').split(','));
const LITERALS = 3;
const SEARCHES = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Uploads `files` (8 at a time) and waits for every analysis; returns the seconds it took. */
async function ingest(s: Server, files: CorpusFile[], note: string): Promise<number> {
  const t = performance.now();
  const ids: string[] = new Array(files.length);
  let done = 0;
  await pool(files.length, 8, async (i) => {
    let data: Buffer;
    try {
      data = readFileSync(files[i]!.path);
    } catch {
      return; // gone since it was listed (logs, caches): one file fewer
    }
    ids[i] = await upload(s, basename(files[i]!.path), data);
    if (++done % 20000 === 0) console.log(`  ${note}: ${done} uploaded, ${((performance.now() - t) / 1000).toFixed(0)} s`);
  });
  await waitCompleted(s, ids.filter(Boolean), 20);
  return (performance.now() - t) / 1000;
}

/** The server's database, read-only, for what the API does not show (index sizes). */
function db(s: Server): BetterSqlite3.Database {
  return new BetterSqlite3(join(s.dir, 'trawl.db'), { readonly: true, fileMustExist: true });
}

function indexState(s: Server) {
  const d = db(s);
  try {
    const files = d.prepare('select count(*) n, sum(size) b from files').get() as { n: number; b: number };
    const pending = d.prepare('select count(*) n, coalesce(sum(length(grams)), 0) b from content_index_pending').get() as { n: number; b: number };
    const segs = d.prepare('select count(*) n, coalesce(sum(bytes), 0) b, coalesce(sum(files), 0) f from content_index_segments where retired_at is null').get() as { n: number; b: number; f: number };
    const unindexed = (d.prepare('select count(*) n from files where content_index <> 1').get() as { n: number }).n;
    return { files: files.n, bytes: files.b, pending, segs, unindexed };
  } finally {
    d.close();
  }
}

/** Runs a one-literal job; returns its seconds, matches (sorted sha256s) and files scanned. */
async function job(s: Server, hex: string): Promise<{ seconds: number; matches: string[]; scannedBytes: number }> {
  const rules = `rule lit { strings: $a = { ${hex} } condition: $a }`;
  const body = Buffer.from(JSON.stringify({ data: { type: 'retrohunt_job', attributes: { rules } } }));
  const t = performance.now();
  const r = await request('POST', `${s.url}/api/v3/intelligence/retrohunt_jobs`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
  if (r.status !== 200) throw new Error(`create: ${r.status} ${r.body}`);
  const id = JSON.parse(r.body.toString()).data.id as string;
  let a: any;
  for (;;) {
    a = (await getJson(`${s.url}/api/v3/intelligence/retrohunt_jobs/${id}`, s.key)).data.attributes;
    if (a.status === 'finished' || a.status === 'aborted') break;
    await sleep(20);
  }
  const seconds = (performance.now() - t) / 1000;
  if (a.status !== 'finished') throw new Error(`job ${id} ${a.status}`);
  const matches: string[] = [];
  for (let url: string | undefined = `${s.url}/api/v3/intelligence/retrohunt_jobs/${id}/matching_files?limit=40`; url;) {
    const page = await getJson(url, s.key);
    matches.push(...page.data.map((f: any) => f.id as string));
    url = page.links?.next;
  }
  return { seconds, matches: matches.sort(), scannedBytes: a.scanned_bytes };
}

/** 8 bytes from the middle of a random corpus file (not all one byte value), as hex. */
function literalFrom(files: CorpusFile[]): string {
  for (;;) {
    const f = files[randomInt(files.length)]!;
    if (f.size < 64) continue;
    let b: Buffer;
    try {
      b = readFileSync(f.path);
    } catch {
      continue;
    }
    if (b.length < 64) continue;
    const at = randomInt(16, b.length - 24);
    const lit = b.subarray(at, at + 8);
    if (new Set(lit).size < 4) continue;
    return [...lit].map((x) => x.toString(16).padStart(2, '0')).join(' ');
  }
}

// Caches and logs that change while the benchmark runs are left out.
const all = corpus({ roots: ['/usr', '/root', '/var/lib', '/opt', '/etc'], sizes: ['-256k'], maxFiles: 2 * (FILES + SMALL) })
  .filter((f) => !/^\/root\/\.(npm|cache)\//.test(f.path)).slice(0, FILES + SMALL);
const small = all.filter((f) => f.size <= 16 * 1024).slice(0, SMALL);
const smallSet = new Set(small.map((f) => f.path));
const files = all.filter((f) => !smallSet.has(f.path)).slice(0, FILES);
const work = mkdtempSync(join(tmpdir(), 'trawl-index-bench-'));
console.log(`date: ${new Date().toISOString()}  cores: ${availableParallelism()}  corpus: ${files.length} files (${(files.reduce((n, f) => n + f.size, 0) / MB).toFixed(0)} MB)  small-file intake: ${small.length} files`);

/** 4. `content:` searches of random 8-byte literals of the corpus, one at a time (when the route is there). */
async function searches(s: Server, probeLiteral: string): Promise<void> {
  const probe = await request('GET', `${s.url}/api/v3/intelligence/search?query=${encodeURIComponent(`content:{${probeLiteral.replace(/ /g, '')}}`)}`, { 'x-apikey': s.key });
  if (probe.status === 200) {
    const lat = await pool(SEARCHES, 1, async () => {
      const q = `content:{${literalFrom(files).replace(/ /g, '')}}`;
      const r = await request('GET', `${s.url}/api/v3/intelligence/search?query=${encodeURIComponent(q)}&limit=10`, { 'x-apikey': s.key });
      if (r.status !== 200) throw new Error(`search: ${r.status} ${r.body}`);
    });
    table(`content: search, ${SEARCHES} random 8-byte literals, one at a time`, [['p50 ms', 'p99 ms', 'max ms'], [pct(lat, 50), pct(lat, 99), Math.max(...lat)]]);
    console.log(`content: search p99 < 500 ms: ${verdict(pct(lat, 99) < 500)}`);
  } else {
    console.log(`content: search not measured (${probe.status} ${probe.body.toString().slice(0, 200)})`);
  }
}

// 1. Small-file intake with and without the index, twice each, alternating.
const intake: Record<string, number[]> = { off: [], on: [] };
for (const round of PARTS.has('intake') ? [0, 1] : []) {
  for (const mode of ['off', 'on'] as const) {
    const s = await startServer(['--content-index', mode === 'on' ? 'true' : 'false']);
    try {
      const part = small.slice(round * (small.length / 2), (round + 1) * (small.length / 2));
      intake[mode]!.push(part.length / (await ingest(s, part, `intake ${mode}`)));
    } finally {
      await s.stop();
    }
  }
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const cost = 1 - mean(intake.on!) / mean(intake.off!);
if (PARTS.has('intake')) table('small-file intake (uploads to analyses completed), real files <= 16 KB', [
  ['content index', 'files/s (two runs)', 'mean'],
  ['off', intake.off!.map((x) => x.toFixed(0)).join(', '), mean(intake.off!)],
  ['on', intake.on!.map((x) => x.toFixed(0)).join(', '), mean(intake.on!)],
]);
if (PARTS.has('intake')) console.log(`indexing costs small-file intake ${(cost * 100).toFixed(1)}% (target <= 15%): ${verdict(cost <= 0.15)}`);
if (!PARTS.has('corpus') && !PARTS.has('search')) process.exit(0);

// 2. The corpus, indexed (or kept from a run before: BENCH_INDEX_KEEP).
const KEEP = process.env.BENCH_INDEX_KEEP;
const kept = KEEP && existsSync(KEEP) ? (JSON.parse(readFileSync(KEEP, 'utf8')) as { files: number; dir: string; key: string }) : null;
const reuse = kept && kept.files === FILES && existsSync(kept.dir) ? kept : null;
const s0 = await startServer(['--content-index-interval', '2'], reuse ?? undefined);
let s: Server = s0;
try {
  const ingestSeconds = reuse ? 0 : await ingest(s, files, 'corpus');
  if (KEEP && !reuse) writeFileSync(KEEP, JSON.stringify({ files: FILES, dir: s.dir, key: s.key }));
  let st = indexState(s);
  const settle = performance.now();
  while (st.pending.n > 0 || st.unindexed > 0) {
    await sleep(1000);
    st = indexState(s);
  }
  console.log(`corpus in: ${reuse ? `kept from a run before (${reuse.dir})` : `${ingestSeconds.toFixed(0)} s`}; index settled ${((performance.now() - settle) / 1000).toFixed(0)} s later`);
  const indexBytes = st.segs.b + st.pending.b;
  table('the content index', [
    ['stored files (subfiles included)', 'corpus MB', 'segments', 'index MB', 'index / corpus'],
    [st.files, st.bytes / MB, st.segs.n, indexBytes / MB, `${(indexBytes / st.bytes).toFixed(3)}`],
  ]);
  console.log(`index <= half the corpus: ${verdict(indexBytes <= st.bytes / 2)};  >= 200,000 stored files: ${verdict(st.files >= 200_000)}`);
  if (PARTS.has('search') && !PARTS.has('corpus')) {
    await searches(s, literalFrom(files));
  } else {
    // 3. One-literal jobs through the index; grep over the files on disk alongside.
    const listPath = join(work, 'files.txt');
    writeFileSync(listPath, files.map((f) => f.path).join('\0'));
    const literals = Array.from({ length: LITERALS }, () => literalFrom(files));
    const rows: (string | number)[][] = [['literal', 'index s', 'matches', 'MB scanned', 'grep -lF s', 'grep files']];
    const indexed: { seconds: number; matches: string[] }[] = [];
    for (const lit of literals) {
      const r = await job(s, lit);
      indexed.push(r);
      const needle = Buffer.from(lit.replace(/ /g, ''), 'hex');
      writeFileSync(join(work, 'needle'), needle);
      const t = performance.now();
      const out = execFileSync('sh', ['-c', `xargs -0 -n 2000 grep -lF -a -f ${join(work, 'needle')} < ${listPath} || true`], { maxBuffer: 1 << 28 }).toString();
      const grepSeconds = (performance.now() - t) / 1000;
      rows.push([lit, r.seconds, r.matches.length, r.scannedBytes / MB, grepSeconds, out.split('\n').filter(Boolean).length]);
    }
    table('Retrohunt, one 8-byte literal, through the index (grep over the files on disk alongside; grep counts uploads only, not subfiles)', rows);

    await searches(s, literals[0]!);

    // Brute force: the same data, restarted with retrohuntVerifyIndex: each job scans every file
    // and fails if the index had ruled out a file that matches; its results must be the index's.
    await s.stop(true);
    s = await startServer(['--retrohunt-verify-index', 'true'], { dir: s0.dir, key: s0.key });
    const rows2: (string | number)[][] = [['literal', 'brute force s', 'index s', 'speed-up', 'matches', 'identical']];
    const speedups: number[] = [];
    let allSame = true;
    for (const [i, lit] of literals.entries()) {
      const brute = await job(s, lit);
      const same = JSON.stringify(brute.matches) === JSON.stringify(indexed[i]!.matches);
      allSame &&= same;
      speedups.push(brute.seconds / indexed[i]!.seconds);
      rows2.push([lit, brute.seconds, indexed[i]!.seconds, `${(brute.seconds / indexed[i]!.seconds).toFixed(1)}x`, brute.matches.length, same ? 'yes' : 'NO']);
    }
    table('one 8-byte literal: index against brute force (every file scanned, the index checked)', rows2);
    const median = [...speedups].sort((x, y) => x - y)[Math.floor(speedups.length / 2)]!;
    console.log(`identical results: ${allSame ? 'yes' : 'NO'};  median speed-up ${median.toFixed(1)}x, >= 20x: ${verdict(allSame && median >= 20)}`);
  }
} finally {
  await s.stop(!!KEEP);
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
