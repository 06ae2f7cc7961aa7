// Small-file intake: distinct random files of 1-16 KB posted to /api/v3/files by concurrent
// keep-alive connections (bodies prebuilt); acknowledged uploads per second and latency.
// Env: BENCH_SMALL_N (20000), BENCH_SMALL_CONC (16,32,64).
import { randomBytes, randomInt } from 'node:crypto';
import { multipart, pct, pool, request, startServer, table, verdict } from './lib/lib.js';

const N = Number(process.env.BENCH_SMALL_N ?? 20000);
const CONC = (process.env.BENCH_SMALL_CONC ?? '16,32,64').split(',').map(Number);

async function main(): Promise<void> {
  const s = await startServer();
  try {
    const rows: (string | number)[][] = [['connections', 'uploads', 'seconds', 'uploads/s', 'p50 ms', 'p99 ms', 'target']];
    for (const conc of CONC) {
      const bodies = Array.from({ length: N }, (_, i) => {
        const data = randomBytes(randomInt(1024, 16 * 1024));
        const m = multipart(`small-${conc}-${i}.bin`, data.length, s.key);
        return { headers: m.headers, body: [Buffer.concat([m.head, data, m.tail])] };
      });
      const run = async (i: number) => {
        const b = bodies[i]!;
        const r = await request('POST', `${s.url}/api/v3/files`, b.headers, b.body);
        if (r.status !== 200) throw new Error(`upload: ${r.status} ${r.body.toString()}`);
      };
      const t0 = performance.now();
      const lat = await pool(N, conc, run);
      const sec = (performance.now() - t0) / 1000;
      rows.push([conc, N, sec, N / sec, pct(lat, 50), pct(lat, 99), `>= 1000/s ${verdict(N / sec >= 1000)}`]);
    }
    table('small uploads (1-16 KB, distinct contents, fresh server)', rows);
  } finally {
    await s.stop();
  }
}

await main();
process.exit(0);
