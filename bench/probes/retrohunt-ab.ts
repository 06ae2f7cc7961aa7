// Retrohunt brute force, server variants side by side on one stored corpus (bench/retrohunt-brute.ts's
// files and rules), alternated BENCH_AB_ROUNDS (3) times, each round beside `yara -p 2 -r` over the
// same files on disk: the job's seconds, MB/s, ratio to yara and the server's CPU seconds.
// Usage: node dist/bench/probes/retrohunt-ab.js MB VARIANT... where a VARIANT is
//   [BUILD][@FLAG,FLAG...]: a checkout with its own dist/ (default: this one) and server flags
//   (e.g. "@--retrohunt-batch,1000").
// Env: BENCH_RULES_DIR (required), BENCH_AB_ROUNDS (3), BENCH_AB_LATENCY (seconds of Livehunt
// uploads at 4/s from each job's start; 0, the default: none), BENCH_AB_KEEP=FILE.json (the
// stored corpus is kept there and reused by the next run with the same MB), BENCH_AB_THREADS=1
// (each server thread's time on a core and waiting for one during the job), BENCH_AB_DEBUG=1
// (when the job was created and seen finished, in epoch ms, to set beside the server's logs).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { cpuSeconds, getJson, MB, pool, request, ROOT, startServer, upload, waitCompleted, type Server } from '../lib/lib.js';
import { createRulesets, latency, LATENCY_PROBE, newUser } from '../lib/hunting-lib.js';
import { retrohuntSetup } from '../lib/retrohunt-setup.js';

const [mbArg, ...variants] = process.argv.slice(2);
const SIZE_MB = Number(mbArg);
if (!SIZE_MB || variants.length === 0) throw new Error('usage: retrohunt-ab.js MB VARIANT...');
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 3);
const LATENCY = Number(process.env.BENCH_AB_LATENCY ?? 0);
const KEEP = process.env.BENCH_AB_KEEP;
const { work, rulesPath, rules, count, files, bytes, farm } = retrohuntSetup(SIZE_MB, 'trawl-retro-ab-');
console.log(`files: ${files.length} (${(bytes / MB).toFixed(0)} MB), rules: ${count}`);

interface Kept { mb: number; dir: string; key: string; probeKey: string }
let kept: Kept | null = KEEP && existsSync(KEEP) ? (JSON.parse(readFileSync(KEEP, 'utf8')) as Kept) : null;
if (kept && kept.mb !== SIZE_MB) kept = null;
if (!kept) {
  const s = await startServer();
  const probeKey = await newUser(s, 'livehunter');
  await createRulesets({ ...s, key: probeKey }, [LATENCY_PROBE]);
  const ids: string[] = [];
  await pool(files.length, 4, async (i) => void ids.push(await upload(s, basename(files[i]!.path), readFileSync(files[i]!.path))));
  await waitCompleted(s, ids);
  await s.stop(true);
  kept = { mb: SIZE_MB, dir: s.dir, key: s.key, probeKey };
  if (KEEP) writeFileSync(KEEP, JSON.stringify(kept));
}

/** Per thread: seconds on a core and seconds runnable but waiting for one (/proc schedstat). */
function schedstat(pid: number): Map<string, { run: number; wait: number }> {
  const out = new Map<string, { run: number; wait: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const [run, wait] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ').map(Number);
      out.set(`${tid} ${name}`, { run: run! / 1e9, wait: wait! / 1e9 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

const rows: string[] = [];
for (let round = 0; round < ROUNDS; round++) {
  let t = performance.now();
  execFileSync('yara', ['-p', '2', '-r', '-w', rulesPath, farm], { stdio: ['ignore', 'ignore', 'inherit'] });
  const yaraRate = bytes / MB / ((performance.now() - t) / 1000);
  for (const variant of variants) {
    const [build, flags] = variant.split('@') as [string, string | undefined];
    // A variant runs its own build's server, through that build's bench library.
    const lib = (await import(join(build || ROOT, 'dist/bench/lib/lib.js'))) as typeof import('../lib/lib.js');
    const s: Server = await lib.startServer(flags ? flags.split(',') : [], { dir: kept.dir, key: kept.key });
    // Let the start's own work (rules compiled, index upkeep) settle.
    await new Promise((r) => setTimeout(r, 3000));
    const body = Buffer.from(JSON.stringify({ data: { type: 'retrohunt_job', attributes: { rules } } }));
    const cpu0 = cpuSeconds(s.proc.pid!);
    const sched0 = schedstat(s.proc.pid!);
    t = performance.now();
    const created = await request('POST', `${s.url}/api/v3/intelligence/retrohunt_jobs`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (created.status !== 200) throw new Error(`create: ${created.status} ${created.body}`);
    const id = JSON.parse(created.body.toString()).data.id as string;
    if (process.env.BENCH_AB_DEBUG) console.log('DEBUG created', Date.now(), 'after', (performance.now() - t).toFixed(0), 'ms');
    const during = LATENCY > 0 ? latency({ ...s, key: kept.probeKey }, 4, LATENCY) : null;
    let job: any;
    for (;;) {
      job = (await getJson(`${s.url}/api/v3/intelligence/retrohunt_jobs/${id}`, s.key)).data.attributes;
      if (job.status === 'finished' || job.status === 'aborted') break;
      await new Promise((r) => setTimeout(r, 200)); // as often as retrohunt-brute.js: each GET serializes the rules
    }
    const seconds = (performance.now() - t) / 1000;
    if (process.env.BENCH_AB_DEBUG) console.log('DEBUG seen', Date.now());
    const cpu = cpuSeconds(s.proc.pid!) - cpu0;
    if (process.env.BENCH_AB_THREADS) {
      for (const [t, v] of schedstat(s.proc.pid!)) {
        const b = sched0.get(t) ?? { run: 0, wait: 0 };
        if (v.run - b.run > 0.05) console.log(`  thread ${t}: on a core ${(v.run - b.run).toFixed(2)} s, runnable but waiting for one ${(v.wait - b.wait).toFixed(2)} s`);
      }
    }
    const live = await during;
    await s.stop(true);
    const rate = job.scanned_bytes / MB / seconds;
    const row = `round ${round + 1}  ${variant || '(this build)'}: ${job.status}, ${job.scanned_files} files, ${(job.scanned_bytes / MB).toFixed(0)} MB in ${seconds.toFixed(2)} s = ${rate.toFixed(1)} MB/s = ${(rate / yaraRate).toFixed(2)}x yara (${yaraRate.toFixed(0)} MB/s), server CPU ${cpu.toFixed(1)} s, ${job.num_matches} matches` +
      (live ? `; Livehunt p50 ${live.p50.toFixed(0)} ms, p99 ${live.p99.toFixed(0)} ms, max ${live.max.toFixed(0)} ms, ${live.missing} missing` : '');
    console.log(row);
    rows.push(row);
  }
}
console.log('\n' + rows.join('\n'));
if (!KEEP) rmSync(kept.dir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
