// Issue 22's table in one run: Trawl end to end with a public rule collection, side by side with
// the unix pipeline doing the same work (bench/lib/unix-pipeline.sh) and with `yara -p 2` alone.
// Trawl's client is `trawl submit --wait --concurrency 16`; every Trawl row starts a fresh server.
//
//   node dist/bench/real-rules.js DIR
//
// DIR: the collection's rule files (one ruleset each, created through the API 8 at a time, as a
// team imports a collection; e.g. signature-base's yara/ folder). Corpora: 4,000 small files of
// /usr/share (many gzip) and 150 files >= 64 KB of /usr/lib and /usr/bin (static libraries among
// them). BENCH_BUILD=DIR serves from another checkout's build.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { corpus, ruleCollection, type CorpusFile } from './corpora/corpus.js';
import { yaraDefines } from '../test/helpers/reference-yara.js';
import type { Server } from './lib/lib.js';
import { EXTERNAL_VARIABLES } from '../src/hunting/engine/engine-options.js';

const lib = (await import(process.env.BENCH_BUILD ? join(process.env.BENCH_BUILD, 'dist/bench/lib/lib.js') : './lib/lib.js')) as typeof import('./lib/lib.js');
const { MB, need, pool, request, ROOT, startServer, table } = lib;

const dir = process.argv[2];
if (!dir) throw new Error('usage: real-rules.js DIR');
need('7z', 'p7zip-full');
need('yara', 'yara');
const collection = ruleCollection(dir);
const ruleFiles = collection.map((r) => r.name);
const small = corpus({ roots: ['/usr/share'], sizes: ['-16k'], maxFiles: 4000 });
const large = corpus({ roots: ['/usr/lib', '/usr/bin'], sizes: ['+64k'], maxFiles: 150 });
const work = mkdtempSync(join(tmpdir(), 'trawl-real-rules-'));

/** A folder of links to the files (what `trawl submit` is given) and a list of their paths. */
function stage(name: string, files: CorpusFile[]): { dir: string; list: string } {
  const d = join(work, name);
  spawnSync('mkdir', ['-p', d]);
  files.forEach((f, i) => symlinkSync(f.path, join(d, `${i}-${basename(f.path)}`)));
  const list = join(work, `${name}.txt`);
  writeFileSync(list, files.map((f) => f.path).join('\n') + '\n');
  return { dir: d, list };
}

/** Rules compiled by yarac, one namespace per file, the external variables defined as Trawl does. */
function yarac(sources: { ns: string; path: string }[], out: string): void {
  const r = spawnSync('yarac', ['-w', ...yaraDefines(EXTERNAL_VARIABLES), ...sources.map((s) => `${s.ns}:${s.path}`), out], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`yarac: ${r.stderr}`);
}

const seconds = (f: () => void) => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};

async function importRulesets(s: Server, sets: { name: string; rules: string }[]): Promise<number> {
  let refused = 0;
  await pool(sets.length, 8, async (i) => {
    const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: sets[i]!.name, rules: sets[i]!.rules, enabled: true, limit: 1_000_000 } } }));
    const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (r.status !== 200) refused++;
  });
  return refused;
}

/** `trawl submit --wait --concurrency 16` of a folder; seconds until it exits. */
function submit(s: Server, folder: string): number {
  return seconds(() => {
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/trawl.js'), 'submit', '--wait', '--concurrency', '16', folder], {
      env: { ...process.env, TRAWL_URL: s.url, TRAWL_APIKEY: s.key }, encoding: 'utf8', maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`trawl submit failed: ${r.stderr.slice(-2000)}`);
  });
}

/** A fresh server with `sets` imported; `settle` waits as the issue's steady state does. */
async function trawlRun(sets: { name: string; rules: string }[], folder: string, settle: boolean): Promise<number> {
  const s = await startServer();
  try {
    await importRulesets(s, sets);
    if (settle) {
      const warm = join(work, `warm-${randomBytes(4).toString('hex')}`);
      writeFileSync(warm, randomBytes(64));
      submit(s, warm);
      await new Promise((r) => setTimeout(r, 30_000));
    }
    return submit(s, folder);
  } finally {
    await s.stop();
  }
}

try {
  const smallSet = stage('small', small);
  const largeSet = stage('large', large);
  const never = [{ name: 'never', rules: `rule never { strings: $a = "TRAWL-NEVER-${randomBytes(8).toString('hex')}" condition: $a }` }];
  const neverPath = join(work, 'never.yar');
  writeFileSync(neverPath, never[0]!.rules);
  const compiled = join(work, 'collection.yarc');
  const compiledNever = join(work, 'never.yarc');
  // Files yara refuses are left out of its side (Trawl refuses its own share: listed by the import).
  const accepted = ruleFiles.filter((f) => spawnSync('yara', ['-w', ...yaraDefines(EXTERNAL_VARIABLES), join(dir, f), '/dev/null']).status === 0);
  yarac(accepted.map((f, i) => ({ ns: `n${i}`, path: join(dir, f) })), compiled);
  yarac([{ ns: 'n0', path: neverPath }], compiledNever);
  const pipeline = (list: string, rules: string) => seconds(() => {
    const r = spawnSync('bash', [join(ROOT, 'bench/lib/unix-pipeline.sh'), list, rules], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`unix-pipeline.sh: ${r.stderr}`);
  });
  const yaraAlone = (list: string, rules: string) => seconds(() => void spawnSync('yara', ['-C', '-p', '2', '--scan-list', rules, list], { maxBuffer: 1 << 28 }));
  const mb = (files: CorpusFile[]) => files.reduce((n, f) => n + f.size, 0) / MB;

  const rows: (string | number)[][] = [['corpus', 'Trawl s', 'pipeline s', 'Trawl vs pipeline', 'yara -p 2 alone s']];
  const row = (label: string, trawl: number, pipe: number, y: number) => rows.push([label, trawl, pipe, `${(pipe / trawl).toFixed(2)}x`, y]);
  row(`${small.length} small files, ${mb(small).toFixed(0)} MB, first minute after the import`, await trawlRun(collection, smallSet.dir, false), pipeline(smallSet.list, compiled), yaraAlone(smallSet.list, compiled));
  row('same, after a warm-up upload and 30 s of quiet', await trawlRun(collection, smallSet.dir, true), pipeline(smallSet.list, compiled), yaraAlone(smallSet.list, compiled));
  row('same files, one rule that never matches', await trawlRun(never, smallSet.dir, true), pipeline(smallSet.list, compiledNever), yaraAlone(smallSet.list, compiledNever));
  row(`${large.length} files >= 64 KB, ${mb(large).toFixed(0)} MB, steady state`, await trawlRun(collection, largeSet.dir, true), pipeline(largeSet.list, compiled), yaraAlone(largeSet.list, compiled));
  table(`${ruleFiles.length} rule files of ${dir} as rulesets (yara takes ${accepted.length}); Trawl: trawl submit --wait --concurrency 16${process.env.BENCH_BUILD ? `, build ${process.env.BENCH_BUILD}` : ''}`, rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}
