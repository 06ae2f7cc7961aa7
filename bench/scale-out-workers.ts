// Worker processes side by side: does a second worker process hunt (nearly) twice the files/s?
// One API process receives N real small files (/usr) while no worker runs, so they wait queued
// in PostgreSQL; then worker processes (each with a data folder of its own, as on separate
// machines) start and the time until the queue is drained is taken. Rulesets: a public rule
// collection (BENCH_RULES_DIR, e.g. signature-base/yara, the first 200 files) else generated ones.
// Blobs in a shared folder (BENCH_BLOBS=s3: s3rver on loopback, in this process).
//
//   node dist/bench/scale-out-workers.js [files=3000]
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { blobFlags, drained, pgClient, serve, type Proc } from './lib/deployment.js';
import { pool, postgresCpu, request, table, threadCpu, upload, type Server } from './lib/lib.js';
import { freshPostgres } from './corpora/notification-corpus.js';
import { ruleCollection, smallCorpus } from './corpora/corpus.js';
import { benchmarkRulesets } from './corpora/rule-corpus.js';

const N = Number(process.argv[2] ?? 3000);

/** Creates rulesets through the API; returns how many were accepted (a collection has refusals). */
async function importRulesets(s: Server, sets: { name: string; rules: string }[]): Promise<number> {
  let ok = 0;
  await pool(sets.length, 4, async (i) => {
    const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { ...sets[i], enabled: true, limit: 1_000_000 } } }));
    const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (r.status === 200) ok++;
  });
  return ok;
}

interface Run {
  label: string; processes: number; threads: number; seconds: number; rate: number;
  /** CPU seconds over the drain: the workers' main threads, their analysis threads, PostgreSQL. */
  workerMain: number; workerThreads: number; postgres: number;
}

/** A worker process's CPU seconds: its main thread, and all its other threads. */
function workerCpu(pid: number): { main: number; rest: number } {
  let main = 0;
  let rest = 0;
  for (const [t, c] of threadCpu(pid)) {
    if (t.startsWith(`${pid} `)) main += c.user + c.sys;
    else rest += c.user + c.sys;
  }
  return { main, rest };
}

async function run(label: string, processes: number, threads: number, files: { path: string }[], sets: { name: string; rules: string }[]): Promise<Run> {
  const database = await freshPostgres(`trawl_bench_scale_${process.pid}`);
  const blobs = await blobFlags();
  const shared = ['--database', database, ...blobs.flags];
  const procs: Proc[] = [];
  const db = await pgClient(database);
  try {
    const api = await serve(['--role', 'api', ...shared]);
    procs.push(api);
    const s = { url: api.url, key: api.key } as Server;
    const accepted = await importRulesets(s, sets);
    await pool(files.length, 16, async (i) => {
      await upload(s, basename(files[i]!.path), readFileSync(files[i]!.path));
    });
    console.log(`${label}: ${accepted} rulesets, ${files.length} uploads queued; starting ${processes} worker process(es) x ${threads} thread(s)`);
    // Each worker compiles the rulesets before it claims a job: the clock starts once all serve.
    const workers = await Promise.all(Array.from({ length: processes }, () => serve(['--role', 'worker', '--workers', String(threads), ...shared])));
    procs.push(...workers);
    const cpu0 = workers.map((w) => workerCpu(w.proc.pid!));
    const pg0 = postgresCpu();
    const t0 = performance.now();
    const t1 = await drained(db);
    const cpu1 = workers.map((w) => workerCpu(w.proc.pid!));
    const postgres = postgresCpu() - pg0;
    const workerMain = cpu1.reduce((n, c, i) => n + c.main - cpu0[i]!.main, 0);
    const workerThreads = cpu1.reduce((n, c, i) => n + c.rest - cpu0[i]!.rest, 0);
    const [failed] = await db.query<{ n: string }>("select count(*) as n from submissions where status <> 'completed'");
    if (Number(failed!.n) > 0) throw new Error(`${failed!.n} analyses not completed`);
    const seconds = (t1 - t0) / 1000;
    return { label, processes, threads, seconds, rate: files.length / seconds, workerMain, workerThreads, postgres };
  } finally {
    for (const p of procs.reverse()) await p.stop();
    await db.end();
    await blobs.close();
  }
}

const files = smallCorpus(N);
const sets = process.env.BENCH_RULES_DIR ? ruleCollection(process.env.BENCH_RULES_DIR).slice(0, 200) : benchmarkRulesets(200);
console.log(`date: ${new Date().toISOString()}  cores: ${availableParallelism()}  files: ${files.length}  rulesets: ${sets.length} (${process.env.BENCH_RULES_DIR ? 'rule collection' : 'generated'})  blobs: ${process.env.BENCH_BLOBS ?? 'folder'}`);
const runs: Run[] = [];
// BENCH_WORKER_RUNS=1x1,2x1 picks configurations (processes x threads); BENCH_ROUNDS repeats them, alternated.
const configs = (process.env.BENCH_WORKER_RUNS ?? '1x1,2x1,1x2').split(',').map((c) => c.split('x').map(Number) as [number, number]);
for (let round = 0; round < Number(process.env.BENCH_ROUNDS ?? 1); round++) {
  for (const [p, t] of configs) {
    runs.push(await run(`${p === 1 ? 'one worker process' : `${p} worker processes`}, ${t} thread${t === 1 ? '' : 's'}${p > 1 ? ' each' : ''}`, p, t, files, sets));
  }
}
table(`hunting ${files.length} queued files with worker processes (API, PostgreSQL and this client on the same ${availableParallelism()} cores)`, [
  ['workers', 'seconds', 'files/s', 'vs one process', 'CPU s: worker main threads', 'worker other threads', 'PostgreSQL', 'CPU ms per file'],
  ...runs.map((r) => [r.label, r.seconds, r.rate, `${(r.rate / runs[0]!.rate).toFixed(2)}x`, r.workerMain, r.workerThreads, r.postgres,
    (1000 * (r.workerMain + r.workerThreads + r.postgres)) / files.length]),
]);
// The model for N machines: each worker process is bounded by its busiest thread, and the
// deployment by the CPU the cores can give all of them; PostgreSQL's share grows with N.
const one = runs[0]!;
const perFile = (one.workerMain + one.workerThreads + one.postgres) / files.length;
console.log(`\n${one.label}: main thread ${(1000 * one.workerMain / files.length).toFixed(2)} ms, analysis threads ${(1000 * one.workerThreads / files.length).toFixed(2)} ms, PostgreSQL ${(1000 * one.postgres / files.length).toFixed(2)} ms of CPU per file;` +
  ` ${availableParallelism()} cores give at most ${(availableParallelism() / perFile).toFixed(0)} files/s to any number of workers here.`);
