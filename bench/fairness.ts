// One user's slow rules and large files against another user's upload -> notification latency
// (issue 23). User A uploads large random files without pause (two analyses always pending) and
// has one of:
//  - the slowest ruleset the speed probe lets in (a per-byte loop, calibrated here: the largest
//    inner loop accepted at creation), which is slow on every file but never quarantined;
//  - a ruleset the probe cannot see (quadratic, guarded by `filesize > 1MB`), which times out on
//    every large file: it is found, quarantined, and scans late from then on.
// User B uploads small files at BENCH_FAIR_RATE/s (default 4) with one quick rule; B's latency
// is measured from acknowledgement to the notification visible in the API, with A idle, then in
// each case (for the quarantined one: before and after the quarantine). Target: p99 < 1 s.
// BENCH_FAIR_CASES picks cases (idle,slowest,unseen); BENCH_FAIR_SLOW=1 lists B's slow uploads.
//
//   node dist/bench/fairness.js [seconds per case=90]
import { randomBytes } from 'node:crypto';
import { createRulesets, latency, LATENCY_PROBE, newUser } from './lib/hunting-lib.js';
import { getJson, MB, pct, request, startServer, table, upload, verdict, waitCompleted, type Server } from './lib/lib.js';

const seconds = Number(process.argv[2] ?? 90);
const rate = Number(process.env.BENCH_FAIR_RATE ?? 4);
const cases = (process.env.BENCH_FAIR_CASES ?? 'idle,slowest,unseen').split(',');
const LARGE = 8 * MB;

type Stats = { n: number; p50: number; p99: number; max: number; missing: number };
const rows: (string | number)[][] = [['user A', 'window', 'B uploads', 'p50 ms', 'p99 ms', 'max ms', 'missing', 'A files analysed', 'target p99 < 1 s']];
const row = (who: string, window: string, r: Stats, aFiles: number | string) =>
  rows.push([who, window, r.n, r.p50.toFixed(0), r.p99.toFixed(0), r.max.toFixed(0), r.missing, aFiles, verdict(r.p99 < 1000 && r.missing === 0)]);

const s = await startServer();
try {
  const b: Server = { ...s, key: await newUser(s, 'bystander') };
  await createRulesets(b, [LATENCY_PROBE]);
  if (cases.includes('idle')) row('idle', 'all', await latency(b, rate, Math.min(30, seconds)), '-');
  if (cases.includes('slowest')) await slowestAccepted(b);
  if (cases.includes('unseen')) await unseenSlow(b);
  table(`fairness: user B's upload -> notification at ${rate}/s while user A uploads 8 MB files, two analyses always pending (${seconds} s per case)`, rows);
} finally {
  await s.stop();
}
process.exit(0);

/** A's ruleset: the largest per-byte inner loop (powers of two) the speed probe lets in. */
async function slowestAccepted(b: Server): Promise<void> {
  let n = 1;
  let accepted: string | null = null;
  for (; n <= 4096; n *= 2) {
    const id = await tryCreate(`slowest_${n}`, `rule slowest_${n} { condition: for all i in (0..filesize - 1) : (for all j in (0..${n}) : (uint8(i) + j >= 0)) }`);
    if (!id) break;
    if (accepted) await remove(accepted);
    accepted = id;
  }
  const load = heavyUploads();
  const r = await latency(b, rate, seconds);
  row(`slowest accepted (loop ${n / 2}/byte), 8 MB files`, 'all', r, await load.stop());
  if (accepted) await remove(accepted);
}

/** A's ruleset: quadratic on files over 1 MB, so unseen by the probe; quarantined once found. */
async function unseenSlow(b: Server): Promise<void> {
  const guarded = 'rule unseen_slow { condition: filesize > 1048576 and for all i in (0..filesize - 1) : (for all j in (0..filesize - 1) : (uint8(i) + uint8(j) >= 0)) }';
  const [id] = await createRulesets(s, [{ name: 'unseen_slow', rules: guarded }]);
  const load = heavyUploads();
  const started = performance.now();
  let foundAt = 0;
  const watch = (async () => {
    while (!foundAt) {
      const a = (await getJson(`${s.url}/api/v3/intelligence/hunting_rulesets/${id}`, s.key)).data.attributes;
      if (a.slow_scans > 0) foundAt = performance.now();
      else await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const q = await latency(b, rate, seconds);
  const aFiles = await load.stop();
  await watch;
  const stats = (xs: { ms: number }[]): Stats => {
    const lat = Float64Array.from(xs.map((x) => x.ms));
    return { n: xs.length, p50: pct(lat, 50), p99: pct(lat, 99), max: xs.length ? Math.max(...lat) : 0, missing: 0 };
  };
  row('unseen slow ruleset, 8 MB files', `before quarantine (${((foundAt - started) / 1000).toFixed(1)} s)`, stats(q.samples.filter((x) => x.at < foundAt)), '-');
  row('unseen slow ruleset, 8 MB files', 'after quarantine', { ...stats(q.samples.filter((x) => x.at >= foundAt)), missing: q.missing }, aFiles);
  if (process.env.BENCH_FAIR_SLOW) for (const x of q.samples) if (x.ms > 1000) console.log(`slow: ${((x.at - started) / 1000).toFixed(1)} s after start: ${x.ms.toFixed(0)} ms`);
  await remove(id!);
}


/** Creates one of A's rulesets; null when it is refused (by the speed probe). */
async function tryCreate(name: string, rules: string): Promise<string | null> {
  const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name, rules, enabled: true } } }));
  const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
  if (r.status === 200) return JSON.parse(r.body.toString()).data.id as string;
  if (r.status === 400) return null;
  throw new Error(`create ruleset: ${r.status} ${r.body}`);
}

async function remove(id: string): Promise<void> {
  await request('DELETE', `${s.url}/api/v3/intelligence/hunting_rulesets/${id}`, { 'x-apikey': s.key });
}

/**
 * User A: large random files, each uploaded once the one before was analysed, two such loops: A
 * always has two analyses waiting or running (more would only grow a backlog on disk). Resolves
 * with how many were analysed.
 */
function heavyUploads(): { stop(): Promise<number> } {
  let running = true;
  let done = 0;
  const loops = [0, 1].map(async (k) => {
    for (let i = 0; running; i++) {
      await waitCompleted(s, [await upload(s, `large-${k}-${i}.bin`, randomBytes(LARGE))]);
      done++;
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return done;
    },
  };
}
