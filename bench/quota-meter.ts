// The request-quota check alone, in process: QuotaMeter.admit on a real SQLite store, for a user
// with no quotas (counted only) and one with per-minute, daily and quota-group limits (checked
// and counted), alternated. What the hook adds to each API request, without HTTP's noise.
// Env: BENCH_METER_CALLS (1,000,000 per run), BENCH_METER_ROUNDS (5).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/store/open-store.js';
import { QuotaMeter } from '../src/users/quota-meter.js';
import { table } from './lib/lib.js';

const CALLS = Number(process.env.BENCH_METER_CALLS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_METER_ROUNDS ?? 5);
const HIGH = 1_000_000_000;

const dir = mkdtempSync(join(tmpdir(), 'trawl-meter-'));
const store = await openStore(`sqlite:${join(dir, 'trawl.db')}`, {});
try {
  const free = await store.createUser({ username: 'free', isAdmin: false, apikeyHash: 'a', createdAt: 1 });
  const held = await store.createUser({ username: 'held', isAdmin: false, apikeyHash: 'b', createdAt: 1 });
  const mate = await store.createUser({ username: 'mate', isAdmin: false, apikeyHash: 'c', createdAt: 1 });
  await store.setQuota({ kind: 'user', id: held.id }, 'api_requests_minutely', HIGH);
  await store.setQuota({ kind: 'user', id: held.id }, 'api_requests_daily', HIGH);
  const g = await store.createGroup('team', 1);
  for (const u of [held, mate]) await store.setGroupMember(g.id, u.id, false);
  await store.setQuota({ kind: 'group', id: g.id }, 'api_requests_daily', HIGH);
  const meter = new QuotaMeter(store, { syncMs: 1000, planTtlMs: 5000 });
  meter.start();
  const run = async (userId: number) => {
    const t = performance.now();
    for (let i = 0; i < CALLS; i++) await meter.admit(userId, 'files');
    return ((performance.now() - t) * 1e6) / CALLS; // ns per call
  };
  await run(free.id);
  await run(held.id);
  const ns: { free: number[]; held: number[] } = { free: [], held: [] };
  for (let r = 0; r < ROUNDS; r++) {
    ns.free.push(await run(free.id));
    ns.held.push(await run(held.id));
  }
  await meter.stop();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  table(`QuotaMeter.admit, ${CALLS.toLocaleString('en')} calls per run, ${ROUNDS} runs each, alternated`, [
    ['user', 'median ns/call', 'runs ns/call'],
    ['no quotas (counted)', median(ns.free).toFixed(0), ns.free.map((x) => x.toFixed(0)).join(' ')],
    ['own + group quotas (checked)', median(ns.held).toFixed(0), ns.held.map((x) => x.toFixed(0)).join(' ')],
  ]);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
