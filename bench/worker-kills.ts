// A worker process killed while it holds jobs: how soon do the other workers take its jobs over,
// and is anything lost or notified twice? PostgreSQL, one API and two worker processes (separate
// data folders), `--job-lease 5`; in each round 60 uploads (half matching a ruleset) go in, a
// worker is SIGKILLed while it holds jobs and started again. Takeover: from the kill until every
// job the dead worker held is held by another worker or done (target: within the lease + 1 s).
// At the end every analysis must be completed and every matching upload notified exactly once.
//
//   node dist/bench/worker-kills.js [rounds=20]
import { createHash, randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { blobFlags, drained, pgClient, serve, type Proc } from './lib/deployment.js';
import { getJson, maxOf, pct, pool, request, table, upload, verdict, type Server } from './lib/lib.js';
import { freshPostgres } from './corpora/notification-corpus.js';

const ROUNDS = Number(process.argv[2] ?? 20);
const LEASE_S = 5;
const PER_ROUND = 60;
const MARK = `WORKER-KILL-${randomBytes(4).toString('hex')}`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const database = await freshPostgres(`trawl_bench_kills_${process.pid}`);
const blobs = await blobFlags();
const shared = ['--database', database, '--job-lease', String(LEASE_S), '--workers', '1', ...blobs.flags];
const db = await pgClient(database);
const api = await serve(['--role', 'api', ...shared]);
const s = { url: api.url, key: api.key } as Server;
const workers: Proc[] = [await serve(['--role', 'worker', ...shared]), await serve(['--role', 'worker', ...shared])];
console.log(`date: ${new Date().toISOString()}  cores: ${availableParallelism()}  rounds: ${ROUNDS}  lease: ${LEASE_S} s  blobs: ${process.env.BENCH_BLOBS ?? 'folder'}`);

const rs = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' },
  [Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: 'kills', enabled: true, limit: 1_000_000, rules: `rule worker_kill { strings: $a = "${MARK}" condition: $a }` } } }))]);
if (rs.status !== 200) throw new Error(`ruleset: ${rs.status}`);

/** The registry id of a worker process, by pid. */
async function processIdOf(pid: number): Promise<string> {
  for (;;) {
    const [r] = await db.query<{ id: string }>('select id from processes where pid = $1', [pid]);
    if (r) return r.id;
    await new Promise((res) => setTimeout(res, 100));
  }
}

const matching = new Set<string>();
const takeovers: number[] = [];
let killedHolding = 0;
for (let round = 0; round < ROUNDS; round++) {
  const victim = round % 2;
  const id = await processIdOf(workers[victim]!.proc.pid!);
  const files = Array.from({ length: PER_ROUND }, (_, i) => Buffer.concat([randomBytes(2000 + i), i % 2 === 0 ? Buffer.from(MARK) : Buffer.alloc(0), randomBytes(500)]));
  for (const f of files) if (f.includes(MARK)) matching.add(sha256(f));
  const uploading = pool(files.length, 8, async (i) => {
    await upload(s, `r${round}-${i}.bin`, files[i]!);
  });
  // Kill it once it holds jobs.
  let held: number[] = [];
  for (let tries = 0; held.length === 0 && tries < 400; tries++) {
    held = (await db.query<{ id: number }>("select id from jobs where locked_by = $1 and state = 'running'", [id])).map((r) => Number(r.id));
    if (held.length === 0) await new Promise((res) => setTimeout(res, 10));
  }
  workers[victim]!.proc.kill('SIGKILL');
  const killedAt = performance.now();
  // What it held at the moment it died (a claim may have landed since the query).
  held = (await db.query<{ id: number }>("select id from jobs where locked_by = $1 and state = 'running'", [id])).map((r) => Number(r.id));
  if (held.length > 0) {
    killedHolding++;
    for (;;) {
      const [left] = await db.query<{ n: string }>('select count(*) as n from jobs where id = any($1) and locked_by = $2', [held, id]);
      if (Number(left!.n) === 0) break;
      await new Promise((res) => setTimeout(res, 20));
    }
    takeovers.push((performance.now() - killedAt) / 1000);
  }
  await uploading;
  await workers[victim]!.stop();
  workers[victim] = await serve(['--role', 'worker', ...shared]);
}
await drained(db);

// Every matching upload notified once; every analysis completed.
const counts = new Map<string, number>();
for (let url: string | undefined = `${s.url}/api/v3/intelligence/hunting_notification_files?limit=40`; url; ) {
  const page = await getJson(url, s.key);
  for (const d of page.data) counts.set(d.id, (counts.get(d.id) ?? 0) + 1);
  url = page.links?.next;
}
const [notCompleted] = await db.query<{ n: string }>("select count(*) as n from submissions where status <> 'completed'");
const missing = [...matching].filter((h) => !counts.has(h)).length;
const duplicates = [...counts.values()].filter((n) => n > 1).length;
const t = Float64Array.from(takeovers);
table(`worker kills: ${ROUNDS} rounds of ${PER_ROUND} uploads, a worker SIGKILLed while holding jobs (lease ${LEASE_S} s)`, [
  ['kills with jobs held', 'takeover p50 s', 'takeover max s', 'analyses not completed', 'matching uploads not notified', 'uploads notified twice'],
  [killedHolding, pct(t, 50), maxOf(t), Number(notCompleted!.n), missing, duplicates],
]);
console.log(`\ntakeover within lease + 1 s: ${verdict(maxOf(t) <= LEASE_S + 1)}; nothing lost or doubled: ${verdict(Number(notCompleted!.n) === 0 && missing === 0 && duplicates === 0)}`);
for (const w of workers) await w.stop();
await api.stop();
await db.end();
await blobs.close();
