// A team imports a public rule collection (one ruleset per file, 8 at a time, through the API)
// while small real files keep arriving (16 uploads in flight), as in issue 22's first minute after
// an import. Reports how long the import and the uploads took, the server's CPU, how long a
// ruleset created right after the import takes to notify an upload, and (builds that log it) how
// often the scanning threads deserialized compiled sets and for how long. Then, on a fresh server,
// the same import while files arrive at a steady rate (open loop, BENCH_LATENCY_RATE/s for
// BENCH_LATENCY_SECONDS, default 20 for 40 s): acknowledged upload -> notification visible.
//
//   node dist/bench/import-burst.js DIR [files=3000]
//
// BENCH_BUILD=DIR serves from another checkout's build, to compare builds on the same work.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ruleCollection, smallCorpus } from './corpora/corpus.js';
import { createRulesets, latency, LATENCY_PROBE } from './lib/hunting-lib.js';
import type { Server } from './lib/lib.js';

const lib = (await import(process.env.BENCH_BUILD ? join(process.env.BENCH_BUILD, 'dist/bench/lib/lib.js') : './lib/lib.js')) as typeof import('./lib/lib.js');
const { cpuSeconds, getJson, pool, request, startServer, table, upload, verdict, waitCompleted } = lib;

const dir = process.argv[2];
if (!dir) throw new Error('usage: import-burst.js DIR [files]');
const files = smallCorpus(Number(process.argv[3] ?? 3000)).map((f) => ({ name: f.path.split('/').pop()!, data: readFileSync(f.path) }));
const rulesets = ruleCollection(dir);

const createRuleset = async (s: Server, name: string, rules: string) => {
  const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name, rules, enabled: true, limit: 1_000_000 } } }));
  return request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
};

// BENCH_IMPORT_LATENCY_ONLY=1: the latency run alone.
if (process.env.BENCH_IMPORT_LATENCY_ONLY !== '1') {
  const s = await startServer(['--log-level', 'debug']);
  try {
    const cpu0 = cpuSeconds(s.proc.pid!);
    const t0 = performance.now();
    let importEnd = 0;
    let refused = 0;
    let importEndClock = 0;
    const importing = pool(rulesets.length, 8, async (i) => {
      const r = await createRuleset(s, rulesets[i]!.name, rulesets[i]!.rules);
      if (r.status !== 200) refused++;
    }).then(() => {
      importEnd = performance.now();
      importEndClock = Date.now();
    });
    const ids: string[] = new Array(files.length);
    const uploading = pool(files.length, 16, async (i) => {
      ids[i] = await upload(s, files[i]!.name, files[i]!.data);
    });
    await Promise.all([importing, uploading]);
    const uploadsAcked = performance.now();

    // A ruleset created right after the import: how long until an upload it matches is notified.
    const marker = `IMPORT-PROBE-${randomBytes(6).toString('hex')}`;
    const probeCreated = performance.now();
    const r = await createRuleset(s, 'import_probe', `rule import_probe { strings: $a = "${marker}" condition: $a }`);
    if (r.status !== 200) throw new Error(`probe ruleset: ${r.status}`);
    await upload(s, 'probe.txt', Buffer.from(`${marker}\n`));
    let probeSeconds = NaN;
    for (;;) {
      const page = await getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=1&filter=tag:import_probe`, s.key);
      if (page.data.length > 0) {
        probeSeconds = (performance.now() - probeCreated) / 1000;
        break;
      }
      await new Promise((res) => setTimeout(res, 20));
    }
    await waitCompleted(s, ids);
    const allDone = performance.now();
    const cpu = cpuSeconds(s.proc.pid!) - cpu0;

    // Live: the first snapshot the catalog published with every accepted ruleset in it (builds
    // that log their snapshots at debug level).
    const published = s.log().split('\n').filter((l) => l.includes('"rules published"')).map((l) => JSON.parse(l) as { time: number; rulesets: number });
    const complete = published.find((p) => p.rulesets >= rulesets.length - refused);
    const liveSeconds = complete ? Math.max(0, (complete.time - importEndClock) / 1000) : NaN;
    const loads = s.log().split('\n').filter((l) => l.includes('rule set loaded by a scanning thread')).map((l) => JSON.parse(l) as { thread: number; digest: string; ms: number; bytes: number });
    const byThread = new Map<number, { n: number; ms: number; mb: number; digests: Set<string> }>();
    for (const l of loads) {
      const t = byThread.get(l.thread) ?? { n: 0, ms: 0, mb: 0, digests: new Set() };
      t.n++;
      t.ms += l.ms;
      t.mb += l.bytes / 1e6;
      t.digests.add(l.digest);
      byThread.set(l.thread, t);
    }
    table(`import of ${rulesets.length} rule files (${refused} refused) during ${files.length} small uploads${process.env.BENCH_BUILD ? ` (build ${process.env.BENCH_BUILD})` : ''}`, [
      ['what', 'value'],
      ['import, s', (importEnd - t0) / 1000],
      ['uploads acknowledged, s', (uploadsAcked - t0) / 1000],
      ['every upload analysed and hunted, s', (allDone - t0) / 1000],
      ['files/s end to end', files.length / ((allDone - t0) / 1000)],
      ['server CPU, s', cpu],
      ['last ruleset created -> every ruleset compiled and published, s', liveSeconds],
      ['ruleset created after the import -> upload notified (behind the upload backlog), s', probeSeconds],
      ...[...byThread].map(([t, v]) => [`thread ${t}: sets loaded (distinct), CPU s, MB`, `${v.n} (${v.digests.size}), ${(v.ms / 1000).toFixed(1)}, ${v.mb.toFixed(0)}`]),
    ]);
  } finally {
    await s.stop();
  }

  // Upload -> notification during the import, at a steady rate rather than a saturating burst.
}

const rate = Number(process.env.BENCH_LATENCY_RATE ?? 20);
const seconds = Number(process.env.BENCH_LATENCY_SECONDS ?? 40);
const s2 = await startServer();
try {
  await createRulesets(s2, [LATENCY_PROBE]);
  // The team's own ruleset is live before the collection is imported: what is measured is how
  // long the uploads it matches take while the import compiles (a ruleset created at the same
  // moment as the first uploads has its first matches scanned late, seconds later: see the notes).
  await upload(s2, 'probe-live.bin', Buffer.from(`TRAWL-LATENCY-PROBE live ${randomBytes(8).toString('hex')}`));
  while ((await getJson(`${s2.url}/api/v3/intelligence/hunting_notifications?limit=1&filter=tag:latency_probe`, s2.key)).data.length === 0) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const t0 = performance.now();
  let importSeconds = NaN;
  const importing = pool(rulesets.length, 8, (i) => createRuleset(s2, rulesets[i]!.name, rulesets[i]!.rules).then(() => undefined)).then(() => {
    importSeconds = (performance.now() - t0) / 1000;
  });
  const [lat] = await Promise.all([latency(s2, rate, seconds), importing]);
  // Where the slow ones were: the slowest latency of each 2 s of the run, by when the upload was sent.
  const slowest = new Map<number, number>();
  const first = Math.min(...lat.samples.map((x) => x.at));
  for (const x of lat.samples) {
    const bucket = Math.floor((x.at - first) / 2000) * 2;
    slowest.set(bucket, Math.max(slowest.get(bucket) ?? 0, x.ms));
  }
  console.log(`slowest by 2 s of sending: ${[...slowest].sort((a, b) => a[0] - b[0]).map(([t, ms]) => `${t}s ${Math.round(ms)}`).join(', ')}`);
  table(`acknowledged upload -> notification visible while ${rulesets.length} rule files are imported (done in ${importSeconds.toFixed(1)} s): open loop at ${rate} files/s for ${seconds} s`, [
    ['uploads', 'p50 ms', 'p99 ms', 'max ms', 'never seen', 'target'],
    [lat.n, lat.p50, lat.p99, lat.max, lat.missing, `p99 < 1000 ms ${verdict(lat.p99 < 1000 && lat.missing === 0)}`],
  ]);
} finally {
  await s2.stop();
}
