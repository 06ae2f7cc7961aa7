// The slowest lists the filter bounds allow (issue 23): how long one request takes at N generated
// notifications, and how long a cheap request sent meanwhile waits for it. A list is bounded by
// the filter bounds (4,096 characters, 32 terms, 16 tags), the page limit and count_limit, but
// tags that are never on the same notification make a walk over every row of the rarest.
// (The request's own time includes the 50 ms before the cheap request is sent.)
// Usage: node dist/bench/worst-filters.js [sqlite|postgres] [N] [server flags...]
// e.g. `node dist/bench/worst-filters.js sqlite 1000000 --database-statement-timeout 1`
import { getJson, request, type Server } from './lib/lib.js';
import { serverWithNotifications } from './corpora/notification-corpus.js';

const db = process.argv[2] ?? 'sqlite';
const N = Number(process.argv[3] ?? 1_000_000);

const tags = (lead: string, n: number) => [lead, ...Array.from({ length: n - 1 }, (_, i) => `nothing_${i}`)];
const stream = (t: string[], extra = '') => `/api/v3/ioc_stream?limit=40${extra}&filter=${encodeURIComponent(t.map((x) => `notification_tag:${x}`).join(' '))}`;
const legacy = (path: string, t: string[]) => `${path}?limit=40&filter=${encodeURIComponent(t.map((x) => `tag:${x}`).join(' '))}`;

const cases: Record<string, string> = {
  'IoC Stream, common tag + 1 absent': stream(tags('apt', 2)),
  'IoC Stream, common tag + 15 absent': stream(tags('apt', 16)),
  'IoC Stream, common tag + 15 absent, count_limit 10000': stream(tags('apt', 16), '&count_limit=10000'),
  'hunting_notification_files, common tag + 15 absent': legacy('/api/v3/intelligence/hunting_notification_files', tags('apt', 16)),
  'hunting_notifications, common tag + 15 absent': legacy('/api/v3/intelligence/hunting_notifications', tags('apt', 16)),
  // Each on many notifications, never on the same one (bench_0: i % 20 = 0; rule_1: i % 10 = 1).
  'IoC Stream, two tags never together': stream(['apt', 'rule_1', 'bench_0']),
  'hunting_notification_files, two tags never together': legacy('/api/v3/intelligence/hunting_notification_files', ['apt', 'rule_1', 'bench_0']),
};

async function timed(s: Server, path: string): Promise<{ ms: number; status: number; bystanderMs: number }> {
  const t = performance.now();
  const slow = request('GET', s.url + path, { 'x-apikey': s.key });
  // A cheap request sent 50 ms later: how long the slow one holds it up.
  await new Promise((r) => setTimeout(r, 50));
  const b = performance.now();
  await getJson(`${s.url}/api/v3/users/admin`, s.key);
  const bystanderMs = performance.now() - b;
  const res = await slow;
  return { ms: performance.now() - t, status: res.status, bystanderMs };
}

const s = await serverWithNotifications(db, N, process.argv.slice(4));
try {
  for (const [name, path] of Object.entries(cases)) {
    await timed(s, path); // warm
    const r = await timed(s, path);
    console.log(`${db} ${N} ${process.argv.slice(4).join(' ')}: ${name}: ${r.ms.toFixed(0)} ms (status ${r.status}); a user lookup sent meanwhile ${r.bystanderMs.toFixed(0)} ms`);
  }
} finally {
  await s.stop();
}
