// Listing hunting notifications with BENCH_NOTIFICATIONS (1,000,000) stored, on SQLite and on
// PostgreSQL: pages of 40 through the API (wrk, 8 connections), unfiltered first pages, deep pages
// at random cursors, a tag filter, a date window, and hunting_notification_files. Notifications
// are generated directly in the database (one owner, 20 rulesets, 4 tags each), then the server
// is restarted on it. PostgreSQL: TRAWL_TEST_PG_URL or the throwaway server of scripts/.
// Env: BENCH_NOTIFICATIONS, BENCH_LIST_SECONDS (10), BENCH_LIST_DB (sqlite,postgres).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasWrk, request, table, verdict, wrk, type Server, type WrkResult } from './lib/lib.js';
import { randomCursor, serverWithNotifications, START, STEP } from './corpora/notification-corpus.js';

const N = Number(process.env.BENCH_NOTIFICATIONS ?? 1_000_000);
const SECONDS = Number(process.env.BENCH_LIST_SECONDS ?? 10);
const DBS = (process.env.BENCH_LIST_DB ?? 'sqlite,postgres').split(',');

/** Paths of one kind of page; cursors sit at random positions of the 1M. */
function paths(kind: string): string[] {
  const base = '/api/v3/intelligence/hunting_notifications';
  const rnd = () => 1 + Math.floor(Math.random() * N);
  const cursor = () => randomCursor(N);
  return Array.from({ length: 2000 }, () => {
    switch (kind) {
      case 'first page': return `${base}?limit=40`;
      case 'random cursor': return `${base}?limit=40&cursor=${cursor()}`;
      case 'tag:rule_3, random cursor': return `${base}?limit=40&filter=tag%3Arule_3&cursor=${cursor()}`;
      case 'date window (1 day)': { const d = START + rnd() * STEP; return `${base}?limit=40&filter=${encodeURIComponent(`date:${d}+ date:${d + 86400}-`)}`; }
      case 'oldest first, random cursor': return `${base}?limit=40&order=date%2B&cursor=${cursor()}`;
      default: return `/api/v3/intelligence/hunting_notification_files?limit=40&cursor=${cursor()}`;
    }
  });
}

async function measure(db: string, s: Server): Promise<(string | number)[][]> {
  const rows: (string | number)[][] = [];
  for (const kind of ['first page', 'random cursor', 'tag:rule_3, random cursor', 'date window (1 day)', 'oldest first, random cursor', 'notification_files, random cursor']) {
    const file = join(s.dir, 'paths.txt');
    const list = paths(kind);
    writeFileSync(file, list.join('\n') + '\n');
    const probe = await request('GET', s.url + list[0], { 'x-apikey': s.key });
    const items = JSON.parse(probe.body.toString()).data?.length;
    if (probe.status !== 200 || items !== 40) throw new Error(`${kind}: ${probe.status} ${items} ${probe.body.toString().slice(0, 300)}`);
    wrk(s, file, 8, 2);
    const r: WrkResult = wrk(s, file, 8, SECONDS);
    rows.push([db, kind, r.rps, r.p50, r.p99, r.errors, `p99 < 20 ms ${verdict(r.p99 < 20 && r.errors === 0)}`]);
  }
  return rows;
}

async function main(): Promise<void> {
  if (!hasWrk()) throw new Error('this benchmark needs wrk (apt-get install wrk)');
  const rows: (string | number)[][] = [['database', 'page of 40', 'pages/s', 'p50 ms', 'p99 ms', 'errors', 'target']];
  for (const db of DBS) {
    const s = await serverWithNotifications(db, N);
    try {
      rows.push(...(await measure(db, s)));
    } finally {
      await s.stop();
    }
  }
  table(`hunting notifications: pages of 40 with ${N} stored, wrk 8 connections, ${SECONDS} s each`, rows);
}

await main();
process.exit(0);
