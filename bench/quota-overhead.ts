// What quota checks cost GET /api/v3/files/{id} at 64 connections: the same server and files,
// runs alternated between the caller having request quotas (own per-minute and daily, and a
// quota group's daily; all too high to refuse) and having none (requests are still counted for
// api_usage, which every request pays either way). Reported per kind: throughput, and the
// server's CPU time per request, which a busy shared host disturbs far less than throughput; the
// cost is the median over pairs of adjacent runs. Env: BENCH_QUOTA_PAIRS (10), BENCH_GET_SECONDS (4),
// BENCH_GET_FILES (3000).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, request, startServer, table, verdict, wrk, type Server } from './lib/lib.js';
import { lookupFiles } from './lib/lookup-files.js';

const FILES = Number(process.env.BENCH_GET_FILES ?? 3000);
const SECONDS = Number(process.env.BENCH_GET_SECONDS ?? 4);
const PAIRS = Number(process.env.BENCH_QUOTA_PAIRS ?? 10);
const HIGH = 1_000_000_000;

async function call(s: Server, method: string, path: string, body: unknown): Promise<void> {
  const r = await request(method, `${s.url}/api/v3${path}`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [Buffer.from(JSON.stringify(body))]);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${r.body.toString()}`);
}

/** Sets (or clears) the admin's request quotas and those of their quota group. */
async function quotas(s: Server, on: boolean): Promise<void> {
  const v = on ? { allowed: HIGH } : { allowed: null };
  await call(s, 'PATCH', '/users/admin', { data: { attributes: { quotas: { api_requests_minutely: v, api_requests_daily: v } } } });
  await call(s, 'PATCH', '/groups/bench', { data: { attributes: { quotas: { api_requests_daily: v } } } });
}

async function main(): Promise<void> {
  const s = await startServer();
  try {
    const ids = await lookupFiles(s, FILES);
    await call(s, 'POST', '/groups', { data: { type: 'group', id: 'bench' } });
    // Group-mates the check sums over, as a team's quota group has.
    await call(s, 'POST', '/groups/bench/relationships/users', { data: [{ type: 'user', id: 'admin' }] });
    const paths = join(s.dir, 'bench-paths.txt');
    writeFileSync(paths, ids.map((id) => `/api/v3/files/${id}`).join('\n') + '\n');
    await quotas(s, false);
    wrk(s, paths, 64, 3); // warm-up
    const runs: { on: boolean; rps: number; cpuUs: number; p99: number; errors: number }[] = [];
    for (let i = 0; i < PAIRS * 2; i++) {
      // none, set, set, none, none, set, ...: each kind as often first as second in a pair.
      const on = (i % 4 === 1 || i % 4 === 2);
      await quotas(s, on);
      const cpu0 = cpuSeconds(s.proc.pid!);
      const r = wrk(s, paths, 64, SECONDS);
      const cpuUs = ((cpuSeconds(s.proc.pid!) - cpu0) / r.requests) * 1e6;
      runs.push({ on, rps: r.rps, cpuUs, p99: r.p99, errors: r.errors });
      console.log(`run ${i + 1}: quotas ${on ? 'set ' : 'none'} ${r.rps.toFixed(0)} req/s, ${cpuUs.toFixed(1)} µs CPU/request, p99 ${r.p99.toFixed(2)} ms, errors ${r.errors}`);
    }
    const median = (xs: number[]) => { const v = [...xs].sort((a, b) => a - b); return v.length % 2 ? v[(v.length - 1) / 2]! : (v[v.length / 2 - 1]! + v[v.length / 2]!) / 2; };
    const of = (on: boolean) => runs.filter((r) => r.on === on);
    const pairs = Array.from({ length: PAIRS }, (_, p) => { const two = runs.slice(p * 2, p * 2 + 2); return { none: two.find((r) => !r.on)!, set: two.find((r) => r.on)! }; });
    const rpsCost = median(pairs.map((p) => (p.none.rps - p.set.rps) / p.none.rps)) * 100;
    const cpuCost = median(pairs.map((p) => (p.set.cpuUs - p.none.cpuUs) / p.none.cpuUs)) * 100;
    const errors = (on: boolean) => of(on).reduce((a, r) => a + r.errors, 0);
    table(`GET /api/v3/files/{id}, 64 connections, ${FILES} files, ${PAIRS} runs each of ${SECONDS} s, alternated`, [
      ['quotas', 'median req/s', 'median CPU µs/req', 'errors'],
      ['none', median(of(false).map((r) => r.rps)), median(of(false).map((r) => r.cpuUs)).toFixed(1), errors(false)],
      ['set', median(of(true).map((r) => r.rps)), median(of(true).map((r) => r.cpuUs)).toFixed(1), errors(true)],
      ['cost (median of pairs)', `${rpsCost.toFixed(2)}% req/s`, `${cpuCost.toFixed(2)}% CPU ${verdict(cpuCost < 2)} (< 2%)`, ''],
    ]);
  } finally {
    await s.stop();
  }
}

await main();
process.exit(0);
