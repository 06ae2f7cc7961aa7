// `trawl submit` against a local server: small files acknowledged per second, side by side in one
// run with the benchmark's own client (bodies prebuilt in memory, keep-alive connections: what the
// server takes) and with what a user would script instead (curl, 16 at a time through xargs).
// Each client gets a fresh server and its own distinct random files of 1-16 KB.
//
//   node dist/bench/submit-rate.js [files=10000] [concurrency=32]
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { multipart, need, pool, request, ROOT, startServer, table, verdict, type Server } from './lib/lib.js';

const N = Number(process.argv[2] ?? 10_000);
const CONC = Number(process.argv[3] ?? 32);
need('curl', 'curl');
const work = mkdtempSync(join(tmpdir(), 'trawl-submit-rate-'));

/** A folder of `n` distinct random files of 1-16 KB. */
function folder(name: string, n: number): string {
  const dir = join(work, name);
  mkdirSync(dir);
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `${i}.bin`), randomBytes(randomInt(1024, 16 * 1024)));
  return dir;
}

async function withServer(fn: (s: Server) => Promise<number> | number): Promise<number> {
  const s = await startServer();
  try {
    return await fn(s);
  } finally {
    await s.stop();
  }
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

try {
  const rows: (string | number)[][] = [['client', 'files', 'in flight', 'seconds', 'files/s', 'target']];
  const cli = folder('cli', N);
  const trawl = await withServer((s) => {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [join(ROOT, 'bin/trawl.js'), 'submit', '--concurrency', String(CONC), cli], {
      env: { ...process.env, TRAWL_URL: s.url, TRAWL_APIKEY: s.key }, encoding: 'utf8', maxBuffer: 1 << 28,
    });
    if (r.status !== 0) throw new Error(`trawl submit failed: ${r.stderr.slice(-2000)}`);
    return seconds(t0);
  });
  rows.push(['trawl submit', N, CONC, trawl, N / trawl, `>= 1000/s ${verdict(N / trawl >= 1000)}`]);

  const mem = folder('mem', N);
  const bench = await withServer(async (s) => {
    const bodies = readdirSync(mem).map((f) => {
      const data = readFileSync(join(mem, f));
      const m = multipart(f, data.length, s.key);
      return { headers: m.headers, body: [Buffer.concat([m.head, data, m.tail])] };
    });
    const t0 = performance.now();
    await pool(N, CONC, async (i) => {
      const r = await request('POST', `${s.url}/api/v3/files`, bodies[i]!.headers, bodies[i]!.body);
      if (r.status !== 200) throw new Error(`upload: ${r.status}`);
    });
    return seconds(t0);
  });
  rows.push(['benchmark client (bodies in memory)', N, CONC, bench, N / bench, '']);

  const curlDir = folder('curl', N);
  const curl = await withServer((s) => {
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', `cd "$1" && ls | xargs -P 16 -n 1 -I{} curl -sf -o /dev/null -H "x-apikey: $2" -F file=@{} "$3/api/v3/files"`, 'curl', curlDir, s.key, s.url], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`curl: ${r.stderr.slice(-2000)}`);
    return seconds(t0);
  });
  rows.push(['curl via xargs -P 16', N, 16, curl, N / curl, '']);
  table(`small files (1-16 KB, distinct) acknowledged by a local server, fresh server per client`, rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}
process.exit(0);
