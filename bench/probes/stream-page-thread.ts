// IoC Stream pages with their reading and serializing on a thread of their own (the default,
// streamPageThread) and on the event loop (--stream-page-thread false), side by side on one
// database of BENCH_PAGE_NOTIFICATIONS (1,000,000) generated notifications: unfiltered pages of
// 40 at random cursors at 16 and 64 connections, the two servers alternated BENCH_PAGE_ROUNDS (3)
// times, with the CPU the server used. Env: BENCH_PAGE_DB (sqlite,postgres), BENCH_PAGE_SECONDS (8).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, startServer, table, wrk, type Server } from '../lib/lib.js';
import { randomCursor, serverWithNotifications } from '../corpora/notification-corpus.js';

const N = Number(process.env.BENCH_PAGE_NOTIFICATIONS ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_PAGE_ROUNDS ?? 3);
const SECONDS = Number(process.env.BENCH_PAGE_SECONDS ?? 8);
const DBS = (process.env.BENCH_PAGE_DB ?? 'sqlite,postgres').split(',');

const rows: (string | number)[][] = [['database', 'page thread', 'connections', 'pages/s', 'p50 ms', 'p99 ms', 'server cores', 'errors']];
for (const db of DBS) {
  const first = await serverWithNotifications(db, N, ['--log-level', 'warn']);
  const { flags } = first;
  await first.stop(true);
  const file = join(first.dir, 'pages.txt');
  writeFileSync(file, Array.from({ length: 2000 }, () => `/api/v3/ioc_stream?limit=40&cursor=${randomCursor(N)}`).join('\n') + '\n');
  for (let round = 0; round < ROUNDS; round++) {
    for (const thread of ['on', 'off']) {
      const s: Server = await startServer([...flags, '--stream-page-thread', thread === 'on' ? 'true' : 'false'], { dir: first.dir, key: first.key });
      wrk(s, file, 16, 2); // warm: the page cache and the file documents
      for (const conns of [16, 64]) {
        const cpu0 = cpuSeconds(s.proc.pid!);
        const r = wrk(s, file, conns, SECONDS);
        const cores = (cpuSeconds(s.proc.pid!) - cpu0) / SECONDS;
        rows.push([db, thread, conns, r.rps, r.p50, r.p99, cores.toFixed(2), r.errors]);
        console.log(rows.at(-1)!.join(' | '));
      }
      await s.stop(true);
    }
  }
  await first.stop();
}
table(`IoC Stream pages, page thread on and off (${N} notifications, ${SECONDS} s per row, unfiltered, random cursors)`, rows);
process.exit(0);
