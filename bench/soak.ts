// A soak: mixed traffic for a long while at half the small-file throughput, watching the server's
// memory. Uploads of small real files (an open loop at BENCH_SOAK_RATE/s, default 100; a few
// rulesets match some), IoC Stream pages and notification lists, file lookups, a live-feed
// follower connected throughout, and a ruleset changed every 30 s. RSS is sampled every 10 s;
// growth is measured from the end of the warm-up (the first sixth) to the end. With
// BENCH_SOAK_SNAPSHOTS=1 the server writes a heap snapshot at both moments and the largest
// differences by constructor are printed: what grows, if anything does.
//
//   node dist/bench/soak.js [minutes=30]
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { smallCorpus } from './corpora/corpus.js';
import { getJson, request, startServer, table, upload, verdict } from './lib/lib.js';
import { createRulesets } from './lib/hunting-lib.js';

const minutes = Number(process.argv[2] ?? 30);
const rate = Number(process.env.BENCH_SOAK_RATE ?? 100);
const snapshots = process.env.BENCH_SOAK_SNAPSHOTS === '1';
const files = smallCorpus(5000).map((f) => readFileSync(f.path));
/** Resident MB: all, anonymous (heaps, native allocations: where a leak shows) and file-backed
 * (SQLite maps its database file: those pages grow with the data and the kernel can drop them). */
function memory(pid: number): { rss: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const mb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
  return { rss: mb('VmRSS'), anon: mb('RssAnon'), file: mb('RssFile') + mb('RssShmem') };
}

// The server writes a heap snapshot (into this process's folder) on SIGUSR2.
if (snapshots) process.env.BENCH_NODE_ARGS = `${process.env.BENCH_NODE_ARGS ?? '--single-threaded-gc'} --heapsnapshot-signal=SIGUSR2`;
const s = await startServer();
const pid = s.proc.pid!;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
try {
  const ids = await createRulesets(s, [
    { name: 'soak_text', rules: 'rule soak_text { strings: $a = "Copyright" condition: $a }' },
    { name: 'soak_gzip', rules: 'rule soak_gzip { condition: uint16(0) == 0x8b1f }' },
    { name: 'soak_changing', rules: 'rule soak_changing_0 { strings: $a = "GNU" condition: $a }' },
  ]);
  const end = Date.now() + minutes * 60_000;
  const warmEnd = Date.now() + (minutes * 60_000) / 6;
  let errors = 0;
  let uploads = 0;
  const count = (p: Promise<unknown>) => p.catch(() => void errors++);

  // A live-feed follower, connected throughout.
  const feed = new AbortController();
  let events = 0;
  void fetch(`${s.url}/api/v3/ioc_stream`, { headers: { 'x-apikey': s.key, accept: 'text/event-stream' }, signal: feed.signal })
    .then(async (res) => {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) events += (Buffer.from(chunk).toString().match(/event: notification/g) ?? []).length;
    })
    .catch(() => undefined);

  const loops = [
    // Uploads, open loop.
    (async () => {
      const t0 = Date.now();
      for (let i = 0; Date.now() < end; i++) {
        const due = t0 + (i * 1000) / rate;
        if (due > Date.now()) await sleep(due - Date.now());
        const data = Buffer.concat([files[i % files.length]!, i >= files.length ? randomBytes(8) : Buffer.alloc(0)]);
        void count(upload(s, `soak-${i}`, data).then(() => void uploads++));
      }
    })(),
    // Readers: pages, lists, files.
    (async () => {
      while (Date.now() < end) {
        await count(getJson(`${s.url}/api/v3/ioc_stream?limit=40`, s.key));
        await count(getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=40&filter=tag:soak_text`, s.key));
        await count(getJson(`${s.url}/api/v3/intelligence/hunting_notification_files?limit=10`, s.key));
        await sleep(250);
      }
    })(),
    // A ruleset changed every 30 s.
    (async () => {
      for (let v = 1; Date.now() < end; v++) {
        await sleep(30_000);
        const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { rules: `rule soak_changing_${v} { strings: $a = "GNU" condition: $a }` } } }));
        await count(request('PATCH', `${s.url}/api/v3/intelligence/hunting_rulesets/${ids[2]}`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]));
      }
    })(),
  ];

  const samples: { min: number; rss: number; anon: number; file: number }[] = [];
  let warm: ReturnType<typeof memory> | null = null;
  const started = Date.now();
  while (Date.now() < end) {
    await sleep(10_000);
    samples.push({ min: (Date.now() - started) / 60_000, ...memory(pid) });
    if (!warm && Date.now() >= warmEnd) {
      warm = memory(pid);
      if (snapshots) process.kill(pid, 'SIGUSR2');
    }
  }
  await Promise.all(loops);
  await sleep(5000);
  const last = memory(pid);
  if (snapshots) process.kill(pid, 'SIGUSR2');
  feed.abort();
  const growth = (a: number, b: number) => ((b - a) / a) * 100;
  table(`soak: ${minutes} min of mixed traffic, uploads at ${rate}/s (MB resident: all, anonymous, file-backed)`, [
    ['uploads acknowledged', 'errors', 'live-feed events', 'after warm-up', 'at end', 'RSS growth', 'anonymous growth', 'target (RSS)'],
    [uploads, errors, events, `${warm!.rss.toFixed(0)}, ${warm!.anon.toFixed(0)}, ${warm!.file.toFixed(0)}`, `${last.rss.toFixed(0)}, ${last.anon.toFixed(0)}, ${last.file.toFixed(0)}`,
      `${growth(warm!.rss, last.rss).toFixed(1)}%`, `${growth(warm!.anon, last.anon).toFixed(1)}%`, `< 10% ${verdict(growth(warm!.rss, last.rss) < 10)}`],
  ]);
  console.log(samples.map((x) => `${x.min.toFixed(1)} min ${x.rss.toFixed(0)} MB (anonymous ${x.anon.toFixed(0)}, file ${x.file.toFixed(0)})`).join('\n'));
  if (snapshots) {
    await sleep(20_000);
    const shots = readdirSync(process.cwd()).filter((f) => f.endsWith('.heapsnapshot') && f.includes(String(pid))).sort();
    if (shots.length >= 2) {
      const [a, b] = [heapByConstructor(shots[0]!), heapByConstructor(shots.at(-1)!)];
      const diff = [...b].map(([k, v]) => [k, v - (a.get(k) ?? 0)] as const).sort((x, y) => y[1] - x[1]).slice(0, 15);
      table('heap growth by constructor (self size, MB), warm-up end -> end', [['constructor', 'MB'], ...diff.map(([k, v]) => [k, v / 1e6])]);
      for (const f of shots) rmSync(f);
    }
  }
} finally {
  await s.stop();
}

/** Self size by constructor name of a V8 heap snapshot. */
function heapByConstructor(path: string): Map<string, number> {
  const snap = JSON.parse(readFileSync(join(process.cwd(), path), 'utf8')) as { snapshot: { meta: { node_fields: string[] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out = new Map<string, number>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const name = snap.strings[snap.nodes[i + nameAt]!]!;
    out.set(name, (out.get(name) ?? 0) + snap.nodes[i + sizeAt]!);
  }
  return out;
}
process.exit(0);
