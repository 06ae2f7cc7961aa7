// A zip of 1,000 small real files, submitted once: upload -> unpacking -> analysis and hunting of
// every subfile -> notifications stored, with the benchmark rule set of the Livehunt issue
// (1,000 rulesets x 10 rules). Side by side: what a user would run instead, `7z x` and then
// `yara -p 2` (rules precompiled with yarac) over the unpacked folder.
// Env: BENCH_RULESETS (1000), BENCH_ZIP_FILES (1000), BENCH_RUNS (3).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { smallCorpus } from './corpora/corpus.js';
import { createRulesets } from './lib/hunting-lib.js';
import { getJson, need, startServer, table, upload, verdict, waitCompleted, type Server } from './lib/lib.js';
import { benchmarkRulesets } from './corpora/rule-corpus.js';

const RULESETS = Number(process.env.BENCH_RULESETS ?? 1000);
const FILES = Number(process.env.BENCH_ZIP_FILES ?? 1000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

const PROBE = 'TRAWL-ZIP-BENCH-PROBE';

/** Uploads files with the probe's marker until its notification shows: the rules are live. */
async function probeLive(s: Server): Promise<void> {
  for (let i = 0; ; i++) {
    await upload(s, `probe-${i}.txt`, Buffer.from(`${PROBE} ${i}`));
    const until = performance.now() + 2000;
    while (performance.now() < until) {
      if ((await getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=1&filter=tag:probe`, s.key)).data.length > 0) return;
      await new Promise((res) => setTimeout(res, 20));
    }
  }
}

function run(cmd: string, args: string[], cwd?: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

async function main(): Promise<void> {
  need('7z', 'p7zip-full');
  need('yarac', 'yara');
  const tmp = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'trawl-zipbench-'));
  const sets = benchmarkRulesets(RULESETS);
  const files = smallCorpus(FILES);
  // One zip, paths as they are under / (7z a from a list).
  writeFileSync(join(tmp, 'files.txt'), files.map((f) => f.path.slice(1)).join('\n'));
  const zip = join(tmp, 'small-files.zip');
  run('7z', ['a', '-tzip', '-mx=5', zip, `@${join(tmp, 'files.txt')}`], '/');
  const bytes = readFileSync(zip);
  console.log(`zip: ${files.length} files, ${(files.reduce((a, f) => a + f.size, 0) / 1024 / 1024).toFixed(1)} MB unpacked, ${(bytes.length / 1024 / 1024).toFixed(1)} MB packed; rules: ${sets.length} rulesets`);

  // The user's way: unpack, then scan the folder.
  mkdirSync(join(tmp, 'rules'));
  const args = sets.map((r, i) => {
    const p = join(tmp, 'rules', `${r.name}.yar`);
    writeFileSync(p, r.rules);
    return `ns${i}:${p}`;
  });
  const compiled = join(tmp, 'rules.yarc');
  run('yarac', [...args, compiled]);
  const native: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const out = join(tmp, `x${i}`);
    const t = performance.now();
    run('7z', ['x', '-y', `-o${out}`, zip]);
    run('yara', ['-C', '-p', '2', '-r', compiled, out]);
    native.push((performance.now() - t) / 1000);
    rmSync(out, { recursive: true, force: true });
  }

  // Trawl: rulesets through the API, then a restart, so that the service starts as in production
  // with its shards compiled (and no background recompilation running during the runs).
  const first = await startServer();
  await createRulesets(first, [...sets, { name: 'probe', rules: `rule probe { strings: $a = "${PROBE}" condition: $a }` }]);
  await first.stop(true);
  const s = await startServer([], { dir: first.dir, key: first.key });
  await probeLive(s);
  const trawl: number[] = [];
  let children = 0;
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const id = await upload(s, `small-files-${i}.zip`, bytes);
    await waitCompleted(s, [id], 20);
    trawl.push((performance.now() - t) / 1000);
  }
  const sha = (await getJson(`${s.url}/api/v3/analyses/${(await upload(s, 'again.zip', bytes))}`, s.key)).meta.file_info.sha256 as string;
  for (let url = `${s.url}/api/v3/files/${sha}/relationships/bundled_files?limit=40`; url; ) {
    const page = await getJson(url, s.key);
    children += page.data.length;
    url = page.links.next ?? '';
  }
  const info = (await getJson(`${s.url}/api/v3/files/${sha}`, s.key)).data.attributes.bundle_info;
  await s.stop();
  rmSync(tmp, { recursive: true, force: true });

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  table(`A zip of ${FILES} small files, ${RULESETS} rulesets x 10 rules (seconds per submission)`, [
    ['', ...Array.from({ length: RUNS }, (_, i) => `run ${i + 1}`), 'median'],
    ['7z x + yara -p 2', ...native.map((x) => x.toFixed(2)), median(native).toFixed(2)],
    ['Trawl upload -> analysed and hunted', ...trawl.map((x) => x.toFixed(2)), median(trawl).toFixed(2)],
  ]);
  console.log(`bundled_files: ${children} distinct subfiles; bundle_info.num_children ${info.num_children}${info.error ? `, error: ${info.error}` : ''}`);
  console.log(`target < 5 s: ${verdict(median(trawl) < 5)} (${median(trawl).toFixed(2)} s)`);
}

await main();
