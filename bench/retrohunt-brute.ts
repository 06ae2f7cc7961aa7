// Retrohunt by brute force against `yara -p 2 -r` over the same files: real files of /usr/lib and
// /usr/bin are uploaded (their archives unpacked: members are stored files too), then a job with
// real rules (the first rule files of BENCH_RULES_DIR, e.g. signature-base/yara, up to 300 rules,
// checked with yara first) runs over everything stored. Rates in MB/s, since Trawl's corpus holds
// the members as well.
//
//   BENCH_RULES_DIR=... node dist/bench/retrohunt-brute.js [MB=500]
import { execFileSync } from 'node:child_process';
import BetterSqlite3 from 'better-sqlite3';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { getJson, MB, need, pool, request, startServer, table, upload, verdict, waitCompleted } from './lib/lib.js';
import { largeCorpus } from './corpora/corpus.js';
import { createRulesets, latency, LATENCY_PROBE, newUser, yaraRules } from './lib/hunting-lib.js';

const SIZE_MB = Number(process.argv[2] ?? 500);
/** How long Livehunt's latency is sampled from the job's start (the job should outlast it). */
const LATENCY_SECONDS = Number(process.env.BENCH_RETRO_LATENCY_SECONDS ?? 8);
const dir = process.env.BENCH_RULES_DIR;
if (!dir) throw new Error('set BENCH_RULES_DIR to a rule collection (e.g. signature-base/yara)');
need('yara', 'yara');

const work = mkdtempSync(join(tmpdir(), 'trawl-retro-'));
const rulesPath = join(work, 'rules.yar');
const { rules, count } = yaraRules(dir, 300, rulesPath);

const files = largeCorpus(SIZE_MB);
const bytes = files.reduce((n, f) => n + f.size, 0);
console.log(`date: ${new Date().toISOString()}  cores: ${availableParallelism()}  files: ${files.length} (${(bytes / MB).toFixed(0)} MB)  rules: ${count}`);

// yara over the files on disk, two threads, through a folder of links to them (yara takes one target).
const farm = join(work, 'files');
mkdirSync(farm);
files.forEach((f, i) => symlinkSync(f.path, join(farm, String(i))));
let t = performance.now();
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
  // The content index builds its segments after the analyses (a one-time cost per file, on one
  // thread): the job is timed once it has settled, as on a server whose corpus is not all new.
  const settle = performance.now();
  for (;;) {
    const d = new BetterSqlite3(join(s.dir, 'trawl.db'), { readonly: true, fileMustExist: true });
    const { n } = d.prepare('select count(*) n from content_index_pending').get() as { n: number };
    d.close();
    if (n === 0) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  console.log(`content index settled ${((performance.now() - settle) / 1000).toFixed(0)} s after the last analysis`);
  const body = Buffer.from(JSON.stringify({ data: { type: 'retrohunt_job', attributes: { rules } } }));
  t = performance.now();
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
  const trawlSeconds = (performance.now() - t) / 1000;
  const live = await during;
  console.log(`Livehunt while the job ran (${LATENCY_SECONDS} s at 4 uploads/s, the job lasting ${trawlSeconds.toFixed(1)} s): p50 ${live.p50.toFixed(0)} ms, p99 ${live.p99.toFixed(0)} ms, max ${live.max.toFixed(0)} ms, ${live.missing} missing`);
  const trawlRate = job.scanned_bytes / MB / trawlSeconds;
  const yaraRate = bytes / MB / yaraSeconds;
  table(`retrohunt by brute force, ${count} rules of ${basename(dir)} (${availableParallelism()} cores)`, [
    ['engine', 'MB scanned', 'seconds', 'MB/s', 'matches', 'vs yara'],
    ['yara -p 2 over the files on disk', bytes / MB, yaraSeconds, yaraRate, '-', '1.00x'],
    [`Trawl retrohunt (${job.status}, members included)`, job.scanned_bytes / MB, trawlSeconds, trawlRate, job.num_matches, `${(trawlRate / yaraRate).toFixed(2)}x`],
  ]);
  console.log(`\nbrute force >= 0.8x yara: ${verdict(trawlRate / yaraRate >= 0.8)}`);
} finally {
  await s.stop();
  rmSync(work, { recursive: true, force: true });
}
