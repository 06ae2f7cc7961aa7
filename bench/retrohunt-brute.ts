// Retrohunt by brute force against `yara -p 2 -r` over the same files: real files of /usr/lib and
// /usr/bin are uploaded (their archives unpacked: members are stored files too), then a job with
// real rules (the first rule files of BENCH_RULES_DIR, e.g. signature-base/yara, up to 300 rules,
// checked with yara first) runs over everything stored, twice: right after the uploads (the content
// index still catching up with them) and once the server is quiet, each beside a run of yara.
// Livehunt uploads go on during each job. Rates in MB/s, since Trawl's corpus holds the members as
// well.
//
//   BENCH_RULES_DIR=... node dist/bench/retrohunt-brute.js [MB=500]
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { getJson, MB, pool, quiet, request, startServer, table, upload, verdict, waitCompleted } from './lib/lib.js';
import { createRulesets, latency, LATENCY_PROBE, newUser } from './lib/hunting-lib.js';
import { retrohuntSetup } from './lib/retrohunt-setup.js';

const SIZE_MB = Number(process.argv[2] ?? 500);
/** How long Livehunt's latency is sampled from the job's start (the job should outlast it). */
const LATENCY_SECONDS = Number(process.env.BENCH_RETRO_LATENCY_SECONDS ?? 8);
const { dir, work, rulesPath, rules, count, files, bytes, farm } = retrohuntSetup(SIZE_MB, 'trawl-retro-');
console.log(`date: ${new Date().toISOString()}  cores: ${availableParallelism()}  files: ${files.length} (${(bytes / MB).toFixed(0)} MB)  rules: ${count}`);

// yara over the files on disk, two threads, through the folder of links to them.
const t = performance.now();
execFileSync('yara', ['-p', '2', '-r', '-w', rulesPath, farm], { stdio: ['ignore', 'ignore', 'inherit'] });
const yaraSeconds = (performance.now() - t) / 1000;

const s = await startServer();
try {
  const probe = { ...s, key: await newUser(s, 'livehunter') };
  await createRulesets(probe, [LATENCY_PROBE]);
  const ids: string[] = [];
  await pool(files.length, 4, async (i) => {
    ids.push(await upload(s, basename(files[i]!.path), readFileSync(files[i]!.path)));
  });
  await waitCompleted(s, ids);
  const yaraRate = () => {
    const started = performance.now();
    execFileSync('yara', ['-p', '2', '-r', '-w', rulesPath, farm], { stdio: ['ignore', 'ignore', 'inherit'] });
    return bytes / MB / ((performance.now() - started) / 1000);
  };
  /** A job over everything stored, with Livehunt uploads meanwhile; its seconds from creation to end. */
  const runJob = async (what: string) => {
    const body = Buffer.from(JSON.stringify({ data: { type: 'retrohunt_job', attributes: { rules } } }));
    const started = performance.now();
    const created = await request('POST', `${s.url}/api/v3/intelligence/retrohunt_jobs`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (created.status !== 200) throw new Error(`create: ${created.status} ${created.body}`);
    const id = JSON.parse(created.body.toString()).data.id as string;
    // Livehunt meanwhile: another user's uploads at 4/s, upload -> notification (issue 26: p99 < 1 s).
    const during = latency(probe, 4, LATENCY_SECONDS);
    let job: any;
    for (;;) {
      job = (await getJson(`${s.url}/api/v3/intelligence/retrohunt_jobs/${id}`, s.key)).data.attributes;
      if (job.status === 'finished' || job.status === 'aborted') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const seconds = (performance.now() - started) / 1000;
    const live = await during;
    console.log(`Livehunt while the job ran ${what} (${LATENCY_SECONDS} s at 4 uploads/s, the job lasting ${seconds.toFixed(1)} s): p50 ${live.p50.toFixed(0)} ms, p99 ${live.p99.toFixed(0)} ms, max ${live.max.toFixed(0)} ms, ${live.missing} missing`);
    return { job, seconds, rate: job.scanned_bytes / MB / seconds };
  };
  // Right after the uploads, the content index is still catching up with them (a segment build
  // on one thread): the job shares the threads with it. Then the same job once the server is quiet.
  const early = await runJob('right after the uploads');
  const yaraEarly = bytes / MB / yaraSeconds;
  await quiet(s);
  const yaraSettled = yaraRate();
  const settled = await runJob('once the server was quiet');
  const row = (what: string, r: typeof early, yara: number) =>
    [`Trawl retrohunt ${what} (${r.job.status}, members included)`, r.job.scanned_bytes / MB, r.seconds, r.rate, r.job.num_matches, `${(r.rate / yara).toFixed(2)}x`];
  table(`retrohunt by brute force, ${count} rules of ${basename(dir)} (${availableParallelism()} cores)`, [
    ['engine', 'MB scanned', 'seconds', 'MB/s', 'matches', 'vs yara'],
    ['yara -p 2 over the files on disk, before the uploads', bytes / MB, yaraSeconds, yaraEarly, '-', '1.00x'],
    row('right after the uploads', early, yaraEarly),
    ['yara -p 2 over the files on disk, again', bytes / MB, bytes / MB / yaraSettled, yaraSettled, '-', '1.00x'],
    row('once the server was quiet', settled, yaraSettled),
  ]);
  console.log(`\nbrute force >= 0.8x yara (the server quiet): ${verdict(settled.rate / yaraSettled >= 0.8)}`);
} finally {
  await s.stop();
  rmSync(work, { recursive: true, force: true });
}
