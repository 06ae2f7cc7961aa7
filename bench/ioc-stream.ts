// The IoC Stream with BENCH_STREAM_NOTIFICATIONS (10,000,000) stored, on SQLite and PostgreSQL:
// pages of 40 full File objects, unfiltered and with each filter kind, at 16 connections (p99)
// and unfiltered at 64 (pages/s); a filtered DELETE of a tenth of them (1,000,000 at 10M) with
// page latency while it runs; and the live feed's delivery to 1,000 followers.
// Env: BENCH_STREAM_NOTIFICATIONS, BENCH_STREAM_SECONDS (10), BENCH_STREAM_DB (sqlite,postgres),
// BENCH_FOLLOWERS (1000), BENCH_DELETE_WRK_SECONDS (20), BENCH_STREAM_PARTS (pages,delete,live: which
// parts run), BENCH_STREAM_REUSE (a JSON file {flags, dir, key} of a server stopped with its
// generated data kept: run on it instead of generating; one database then), BENCH_STREAM_KEEP (a
// file to write that JSON to, keeping the generated data: for bench/probes/stream-ab.ts).
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getJson, pct, request, startServer, table, upload, verdict, wrk, type Server, maxOf } from './lib/lib.js';
import { randomCursor, readKept, serverWithNotifications, streamPageKinds, writeKept } from './corpora/notification-corpus.js';

const N = Number(process.env.BENCH_STREAM_NOTIFICATIONS ?? 10_000_000);
const SECONDS = Number(process.env.BENCH_STREAM_SECONDS ?? 10);
const DBS = (process.env.BENCH_STREAM_DB ?? 'sqlite,postgres').split(',').slice(0, process.env.BENCH_STREAM_REUSE || process.env.BENCH_STREAM_KEEP ? 1 : undefined);
const FOLLOWERS = Number(process.env.BENCH_FOLLOWERS ?? 1000);
const PARTS = new Set((process.env.BENCH_STREAM_PARTS ?? 'pages,delete,live').split(','));
const REUSE = process.env.BENCH_STREAM_REUSE;
const KEEP = process.env.BENCH_STREAM_KEEP;

const KINDS = streamPageKinds(N);

/** 2,000 paths of one kind in a file for wrk; the first is requested once to check it gives a full page. */
async function pathsFile(s: Server, kind: string, make: () => string): Promise<string> {
  const file = join(s.dir, `paths-${randomBytes(4).toString('hex')}.txt`);
  const paths = Array.from({ length: 2000 }, () => `/api/v3/ioc_stream?${make()}`);
  writeFileSync(file, paths.join('\n') + '\n');
  const probe = await getJson(s.url + paths[0], s.key);
  if (!(probe.data.length > 0) || !probe.data[0].attributes) throw new Error(`${kind}: the page has no full objects: ${JSON.stringify(probe).slice(0, 300)}`);
  return file;
}

/** Page latency from a plain node client while `during` runs (wrk cannot stop on an event). */
async function pagesDuring(s: Server, conns: number, during: Promise<unknown>): Promise<{ n: number; p99: number; max: number }> {
  const lats: number[] = [];
  let done = false;
  void during.finally(() => (done = true));
  await Promise.all(Array.from({ length: conns }, async () => {
    while (!done) {
      const t = performance.now();
      const r = await request('GET', `${s.url}/api/v3/ioc_stream?limit=40&cursor=${randomCursor(N)}`, { 'x-apikey': s.key });
      if (r.status !== 200) throw new Error(`page: ${r.status}`);
      lats.push(performance.now() - t);
    }
  }));
  const l = Float64Array.from(lats);
  return { n: lats.length, p99: pct(l, 99), max: maxOf(lats) };
}

/** Seconds of wrk at the start of a deletion: a window that a deletion of 1,000,000 outlasts. */
const DELETE_WRK_SECONDS = Number(process.env.BENCH_DELETE_WRK_SECONDS ?? 20);

interface DeleteRun {
  seconds: number;
  deleted: number;
  /** wrk at 16 connections over the first DELETE_WRK_SECONDS (null: the deletion ended first). */
  wrk: { p99: number; rps: number } | null;
  /** The node client at 16 connections from then until the deletion is over. */
  rest: { p99: number; max: number; pages: number };
}

/** Whether the first deletion is still running: a second one is refused with 429 until it is over. */
async function deleting(s: Server): Promise<boolean> {
  const r = await request('DELETE', `${s.url}/api/v3/ioc_stream?filter=tag:nothing_has_this`, { 'x-apikey': s.key });
  if (r.status !== 200 && r.status !== 429) throw new Error(`DELETE: ${r.status} ${r.body}`);
  return r.status === 429;
}

/**
 * A filtered DELETE of about a tenth of the stream, and page latency while it runs: first with
 * wrk (the client of every other page figure; it cannot stop on an event, so it runs a fixed
 * window that must end before the deletion does), then with a node client until it is over.
 */
async function deleteWhileReading(s: Server, pages: string): Promise<DeleteRun> {
  const filter = 'notification_tag:rule_3'; // rule_3 is every tenth notification
  const before = (await getJson(`${s.url}/api/v3/ioc_stream?limit=1&count_limit=10000&filter=${filter}`, s.key)).meta.count as number;
  const t0 = performance.now();
  const del = await request('DELETE', `${s.url}/api/v3/ioc_stream?filter=${filter}`, { 'x-apikey': s.key });
  if (del.status !== 200) throw new Error(`DELETE: ${del.status} ${del.body}`);
  const w = wrk(s, pages, 16, DELETE_WRK_SECONDS);
  const within = await deleting(s);
  const finished = (async () => {
    while (await deleting(s)) await new Promise((r) => setTimeout(r, 500));
    return performance.now();
  })();
  const reads = await pagesDuring(s, 16, finished);
  const seconds = ((await finished) - t0) / 1000;
  const left = (await getJson(`${s.url}/api/v3/ioc_stream?limit=1&filter=${filter}`, s.key)).data.length as number;
  if (left !== 0) throw new Error('the deletion left notifications behind');
  return {
    seconds, deleted: before >= 10_000 ? N / 10 : before,
    wrk: within && w.errors === 0 ? { p99: w.p99, rps: w.rps } : null,
    rest: { p99: reads.p99, max: reads.max, pages: reads.n },
  };
}

/** FOLLOWERS live-feed connections; new matching uploads; time from acknowledgement to each follower. */
async function liveFeed(s: Server): Promise<{ followers: number; events: number; p50: number; p99: number; missing: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: FOLLOWERS + 10 });
  const acked = new Map<string, number>();
  const lats: number[] = [];
  let received = 0;
  const conns: http.ClientRequest[] = [];
  await Promise.all(Array.from({ length: FOLLOWERS }, () => new Promise<void>((resolve, reject) => {
    const req = http.get(`${s.url}/api/v3/ioc_stream?filter=tag:live_probe`, { agent, headers: { 'x-apikey': s.key, accept: 'text/event-stream' } }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        for (let i; (i = buf.indexOf('\n\n')) >= 0; ) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!data) continue;
          const t = acked.get(JSON.parse(data).id);
          if (t !== undefined) lats.push(performance.now() - t);
          received++;
        }
      });
      resolve();
    });
    req.on('error', reject);
    conns.push(req);
  })));
  // The probe ruleset matches the marker; its notifications are the feed's events.
  const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: 'live_probe', enabled: true, rules: 'rule live_probe { strings: $a = "LIVE-PROBE-MARK" condition: $a }' } } }));
  await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
  await new Promise((r) => setTimeout(r, 1000));
  const EVENTS = 20;
  for (let i = 0; i < EVENTS; i++) {
    const data = Buffer.from(`LIVE-PROBE-MARK ${i} ${randomBytes(8).toString('hex')}`);
    const h = createHash('sha256').update(data).digest('hex');
    await upload(s, `live-${i}.bin`, data);
    acked.set(h, performance.now());
    await new Promise((r) => setTimeout(r, 250));
  }
  const until = performance.now() + 10_000;
  while (received < EVENTS * FOLLOWERS && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
  for (const c of conns) c.destroy();
  agent.destroy();
  const l = Float64Array.from(lats);
  return { followers: FOLLOWERS, events: EVENTS, p50: pct(l, 50), p99: pct(l, 99), missing: EVENTS * FOLLOWERS - received };
}

/** The server of a kept benchmark database (BENCH_STREAM_REUSE), started again on it. */
async function reused(file: string): Promise<Server & { flags: string[] }> {
  const { flags, dir, key } = readKept(file);
  return Object.assign(await startServer(flags, { dir, key }), { flags });
}

async function main(): Promise<void> {
  const rows: (string | number)[][] = [['database', 'page of 40', 'connections', 'pages/s', 'p50 ms', 'p99 ms', 'errors', 'target']];
  const extra: string[] = [];
  for (const db of DBS) {
    const s = REUSE ? await reused(REUSE) : await serverWithNotifications(db, N, ['--log-level', 'warn']);
    if (KEEP) writeKept(KEEP, s);
    try {
      for (const [kind, make] of PARTS.has('pages') ? Object.entries(KINDS) : []) {
        const file = await pathsFile(s, kind, make);
        wrk(s, file, 16, 2);
        const r = wrk(s, file, 16, SECONDS);
        rows.push([db, kind, 16, r.rps, r.p50, r.p99, r.errors, `p99 < 25 ms ${verdict(r.p99 < 25 && r.errors === 0)}`]);
        console.log(rows[rows.length - 1]!.join(' | '));
      }
      const file = await pathsFile(s, 'unfiltered', KINDS['unfiltered, random cursor']!);
      if (PARTS.has('pages')) {
        const r64 = wrk(s, file, 64, SECONDS);
        rows.push([db, 'unfiltered, random cursor', 64, r64.rps, r64.p50, r64.p99, r64.errors, `>= 2000 pages/s ${verdict(r64.rps >= 2000 && r64.errors === 0)}`]);
        console.log(rows[rows.length - 1]!.join(' | '));
      }
      if (PARTS.has('delete')) {
        const d = await deleteWhileReading(s, file);
        const during = d.wrk
          ? `wrk over its first ${DELETE_WRK_SECONDS} s: ${Math.round(d.wrk.rps)} pages/s, p99 ${d.wrk.p99.toFixed(1)} ms: ${verdict(d.wrk.p99 < 50)} (p99 < 50 ms)`
          : `it ended within wrk's ${DELETE_WRK_SECONDS} s: no wrk figure`;
        extra.push(`${db}: DELETE ?filter=notification_tag:rule_3 (${d.deleted} notifications) took ${d.seconds.toFixed(1)} s; pages meanwhile, ${during}; ` +
          `node client after that: ${d.rest.pages} pages, p99 ${d.rest.p99.toFixed(1)} ms, max ${d.rest.max.toFixed(0)} ms`);
        console.log(extra[extra.length - 1]);
      }
      if (PARTS.has('live')) {
        const f = await liveFeed(s);
        extra.push(`${db}: live feed, ${f.followers} followers, ${f.events} notifications: delivery p50 ${f.p50.toFixed(0)} ms, ` +
          `p99 ${f.p99.toFixed(0)} ms, ${f.missing} missing: ${verdict(f.p99 < 200 && f.missing === 0)} (p99 < 200 ms)`);
        console.log(extra[extra.length - 1]);
      }
    } finally {
      await s.stop(Boolean(REUSE || KEEP));
    }
  }
  table(`IoC Stream with ${N} notifications stored (wrk, ${SECONDS} s per row)`, rows);
  for (const line of extra) console.log(line);
}

await main();
process.exit(0);
