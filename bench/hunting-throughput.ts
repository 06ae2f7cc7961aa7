// Livehunt throughput, side by side with Debian's `yara -p 2` (the same rules precompiled with
// yarac) on the same files: 1,000 rulesets x 10 rules (rule-corpus.ts), the ~500 MB corpus of the
// intake benchmark, and small real files. Trawl's figure is end to end: upload -> analysis ->
// YARA-X -> notifications stored (an analysis completes in the transaction that stores them).
// Then: upload -> notification visible latency at half the small-file rate, and how long a
// ruleset change takes to be live.
// Env: BENCH_RULESETS (1000), BENCH_LARGE_MB (500), BENCH_SMALL_FILES (10000), BENCH_LATENCY_SECONDS (20).
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { compileToShared } from '../src/hunting/engine/shared-compile.js';
import { largeCorpus, smallCorpus, type CorpusFile } from './corpora/corpus.js';
import { Libmagic } from '../src/analysis/analyzers/libmagic.js';
import { cpuSeconds, ownThreadCpuSeconds, threadCpu, printThreadCpu, getJson, MB, pct, pool, startServer, table, upload, verdict, waitCompleted, type Server, maxOf } from './lib/lib.js';
import { changeLive, createRulesets, latency, LATENCY_PROBE } from './lib/hunting-lib.js';
import { benchmarkRulesets } from './corpora/rule-corpus.js';

const RULESETS = Number(process.env.BENCH_RULESETS ?? 1000);
const LARGE_MB = Number(process.env.BENCH_LARGE_MB ?? 500);
const SMALL = Number(process.env.BENCH_SMALL_FILES ?? 10000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);

interface YaraRun { seconds: number; matches: number }
/** A YARA-X run also knows the CPU seconds its scanning threads used. */
interface EngineRun extends YaraRun { cpu: number }

/** `yara -p 2` over the files of `list`, with rules compiled by yarac beforehand. */
function yara(compiled: string, list: string): YaraRun {
  const t = performance.now();
  const r = spawnSync('yara', ['-C', '-p', '2', '--scan-list', compiled, list], { maxBuffer: 1 << 30, encoding: 'utf8' });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`yara failed: ${r.stderr}`);
  return { seconds, matches: r.stdout.split('\n').filter(Boolean).length };
}

/**
 * YARA-X alone, as Trawl's analysis threads use it: the same rules compiled into one set, two
 * threads scanning the files (read from the page cache) after loading the set.
 */
async function yaraxScan(bytes: SharedArrayBuffer, files: CorpusFile[]): Promise<EngineRun> {
  const lanes = [0, 1].map((k) => new Worker(new URL('./lib/scan-worker.js', import.meta.url), {
    workerData: { bytes, files: files.filter((_, i) => i % 2 === k).map((f) => f.path) },
  }));
  await Promise.all(lanes.map((w) => new Promise((r) => w.once('message', r))));
  const t = performance.now();
  const done = await Promise.all(lanes.map((w) => new Promise<{ matches: number; cpu: number }>((r) => {
    w.once('message', r);
    w.postMessage('go');
  })));
  const seconds = (performance.now() - t) / 1000;
  await Promise.all(lanes.map((w) => w.terminate()));
  return { seconds, matches: done.reduce((a, b) => a + b.matches, 0), cpu: done.reduce((a, b) => a + b.cpu, 0) };
}

/**
 * The CPU seconds, on this thread, of work every end-to-end run must do at least once per file
 * whatever its design: md5, sha1 and sha256 of the bytes (Node's OpenSSL, as Trawl hashes), and
 * libmagic's description and MIME type (Trawl's binding).
 */
function intakeFloor(files: CorpusFile[]): { hashCpu: number; magicCpu: number } {
  const contents = files.map((f) => readFileSync(f.path));
  let before = ownThreadCpuSeconds();
  for (const data of contents) for (const algorithm of ['md5', 'sha1', 'sha256']) createHash(algorithm).update(data).digest();
  const hashCpu = ownThreadCpuSeconds() - before;
  const magic = new Libmagic();
  try {
    before = ownThreadCpuSeconds();
    for (const f of files) {
      magic.describe(f.path);
      magic.mime(f.path);
    }
    return { hashCpu, magicCpu: ownThreadCpuSeconds() - before };
  } finally {
    magic.close();
  }
}

/** Uploads files (conc in flight) and waits until every analysis (hunting included) completed. */
async function huntAll(s: Server, files: CorpusFile[], conc: number): Promise<{ acked: number; done: number; uploadCpu: number }> {
  const ids: string[] = new Array(files.length);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await pool(files.length, conc, async (i) => {
    const f = files[i]!;
    ids[i] = await upload(s, f.path.split('/').pop()!, readFileSync(f.path));
  });
  const acked = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const done = ((await waitCompleted(s, ids, 20)) - t0) / 1000;
  return { acked, done, uploadCpu: (cpu.user + cpu.system) / 1e6 };
}

async function notificationCount(s: Server): Promise<number> {
  return (await getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=1&count_limit=10000000`, s.key)).meta.count as number;
}

async function main(): Promise<void> {
  const tmp = join(process.env.BENCH_TMP ?? '/tmp', `trawl-hunt-${process.pid}`);
  mkdirSync(join(tmp, 'rules'), { recursive: true });
  const sets = [...benchmarkRulesets(RULESETS), LATENCY_PROBE];
  const large = largeCorpus(LARGE_MB);
  const small = smallCorpus(SMALL);
  const largeMb = large.reduce((a, f) => a + f.size, 0) / MB;
  const smallMb = small.reduce((a, f) => a + f.size, 0) / MB;
  for (const [name, files] of [['large', large], ['small', small]] as const) writeFileSync(join(tmp, `${name}.list`), files.map((f) => f.path).join('\n') + '\n');
  for (const f of [...large, ...small]) readFileSync(f.path); // warm the page cache for both sides
  console.log(`rules: ${sets.length} rulesets, ${sets.length * 10 - 9} rules; large: ${large.length} files, ${largeMb.toFixed(0)} MB; small: ${small.length} files, ${smallMb.toFixed(1)} MB`);

  // yara: one namespace per ruleset, precompiled.
  const args: string[] = [];
  sets.forEach((r, i) => {
    const p = join(tmp, 'rules', `${r.name}.yar`);
    writeFileSync(p, r.rules);
    args.push(`ns${i}:${p}`);
  });
  const compiled = join(tmp, 'rules.yarc');
  let t = performance.now();
  const yc = spawnSync('yarac', [...args, compiled], { encoding: 'utf8' });
  if (yc.status !== 0) throw new Error(`yarac failed: ${yc.stderr}`);
  const yaracSec = (performance.now() - t) / 1000;
  yara(compiled, join(tmp, 'small.list')); // warm-up
  const yLarge = yara(compiled, join(tmp, 'large.list'));
  const ySmall = yara(compiled, join(tmp, 'small.list'));
  const engine = compileToShared(sets.map((r, i) => ({ id: i + 1, generation: 1, rules: r.rules }))).bytes;
  const xLarge = await yaraxScan(engine, large);
  const xSmall = await yaraxScan(engine, small);
  const floor = intakeFloor(large);

  // Trawl: create the rulesets through the API, then restart so the service starts as it would
  // in production, with its shards compiled at startup.
  let s = await startServer(['--log-level', 'info']);
  t = performance.now();
  const ids = await createRulesets(s, sets);
  const createSec = (performance.now() - t) / 1000;
  await s.stop(true);
  t = performance.now();
  s = await startServer(['--log-level', 'info'], { dir: s.dir, key: s.key });
  const startSec = (performance.now() - t) / 1000;
  try {
    const threads0 = threadCpu(s.proc.pid!);
    const cpu0 = cpuSeconds(s.proc.pid!);
    const client0 = process.cpuUsage();
    const tl = await huntAll(s, large, 4);
    const client1 = process.cpuUsage(client0);
    console.log(`large files: server used ${(cpuSeconds(s.proc.pid!) - cpu0).toFixed(1)} CPU seconds, this client ${((client1.user + client1.system) / 1e6).toFixed(1)}`);
    if (process.env.BENCH_THREADS) printThreadCpu(s.proc.pid!, threads0);
    const afterLarge = await notificationCount(s);
    const ts = await huntAll(s, small, 32);
    const notified = await notificationCount(s);
    const largeRate = largeMb / tl.done;
    console.log(`large: all acknowledged after ${tl.acked.toFixed(2)} s, all hunted after ${tl.done.toFixed(2)} s; small: ${ts.acked.toFixed(2)} s, ${ts.done.toFixed(2)} s`);
    const yLargeRate = largeMb / yLarge.seconds;
    const smallRate = small.length / ts.done;
    const ySmallRate = small.length / ySmall.seconds;
    table(`hunting throughput: ${sets.length} rulesets, end to end (upload -> notifications stored)`, [
      ['run', 'files', 'MB', 'seconds', 'MB/s', 'files/s', 'matches', 'target'],
      ['trawl, large files (4 uploads in flight)', large.length, largeMb, tl.done, largeRate, large.length / tl.done, afterLarge,
        `>= 0.8x yara ${verdict(largeRate >= 0.8 * yLargeRate)} (${(largeRate / yLargeRate).toFixed(2)}x)`],
      ['yara -p 2, large files', large.length, largeMb, yLarge.seconds, yLargeRate, large.length / yLarge.seconds, yLarge.matches, ''],
      ['YARA-X alone (2 threads), large files', large.length, largeMb, xLarge.seconds, largeMb / xLarge.seconds, large.length / xLarge.seconds, xLarge.matches,
        `${(largeMb / xLarge.seconds / yLargeRate).toFixed(2)}x yara`],
      ['trawl, small files (32 in flight)', small.length, smallMb, ts.done, smallMb / ts.done, smallRate, notified - afterLarge,
        `>= 400/s ${verdict(smallRate >= 400)}, ${(smallRate / ySmallRate).toFixed(2)}x yara`],
      ['yara -p 2, small files', small.length, smallMb, ySmall.seconds, smallMb / ySmall.seconds, ySmallRate, ySmall.matches, ''],
      ['YARA-X alone (2 threads), small files', small.length, smallMb, xSmall.seconds, smallMb / xSmall.seconds, small.length / xSmall.seconds, xSmall.matches,
        `${(small.length / xSmall.seconds / ySmallRate).toFixed(2)}x yara`],
    ]);
    // The best any end-to-end run could do on this machine: the work above that it cannot skip,
    // spread over every core with nothing else (no HTTP, writes, fsyncs, database, unpacking).
    const must = [['YARA-X scans (reads included), 2 threads', xLarge.cpu], ['md5 + sha1 + sha256', floor.hashCpu],
      ['libmagic description + MIME type', floor.magicCpu], ['the benchmark client uploading', tl.uploadCpu]] as const;
    const mustCpu = must.reduce((a, [, c]) => a + c, 0);
    const cores = availableParallelism();
    const ceiling = largeMb / (mustCpu / cores);
    table(`large files: CPU seconds no end-to-end run can skip, and the ceiling they set on ${cores} cores`, [
      ['work', 'CPU s'],
      ...must.map(([w, c]) => [w, c]),
      ['sum', mustCpu],
      [`ceiling: ${largeMb.toFixed(0)} MB in ${(mustCpu / cores).toFixed(2)} s`, `${ceiling.toFixed(0)} MB/s = ${(ceiling / yLargeRate).toFixed(2)}x yara -p 2`],
    ]);
    console.log(`yarac: ${yaracSec.toFixed(1)} s; trawl: ${createSec.toFixed(1)} s to create the rulesets through the API, ${startSec.toFixed(1)} s to restart (compiles the shards)`);

    const lat = await latency(s, smallRate / 2, LATENCY_SECONDS);
    table(`acknowledged upload -> notification visible, open loop at ${(smallRate / 2).toFixed(0)} files/s (half the small-file rate)`, [
      ['uploads', 'p50 ms', 'p99 ms', 'max ms', 'never seen', 'target'],
      [lat.n, lat.p50, lat.p99, lat.max, lat.missing, `p99 < 1000 ms ${verdict(lat.p99 < 1000 && lat.missing === 0)}`],
    ]);

    const live: number[] = [];
    for (let k = 0; k < 5; k++) live.push(await changeLive(s, ids[(k * 97) % RULESETS]!, k));
    const compiles = [...s.log().matchAll(/"set":"delta(?::\d+)?","rulesets":(\d+),"ms":(\d+)/g)].slice(-5).map((m) => `${m[1]}:${m[2]}ms`);
    table(`ruleset change -> live (PATCH returned -> first matching upload notified), ${sets.length} rulesets stored`, [
      ['changes', 'median s', 'max s', 'delta compiles (rulesets:ms)', 'target'],
      [live.length, pct(Float64Array.from(live), 50), maxOf(live), compiles.join(' '), `< 2 s ${verdict(maxOf(live) < 2)}`],
    ]);
  } finally {
    await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
