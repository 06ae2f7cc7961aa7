// GET /api/v3/files/{id}: loads BENCH_GET_FILES (3000) files, then requests random ids (a third
// each sha256/sha1/md5) with `wrk` (one client process) at 8 and 64 connections; node fallback.
// Env: BENCH_GET_SECONDS (10).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasWrk, startServer, table, verdict, wrk, type Server } from './lib/lib.js';
import { lookupFiles, lookupLoop } from './lib/lookup-files.js';

const FILES = Number(process.env.BENCH_GET_FILES ?? 3000);
const SECONDS = Number(process.env.BENCH_GET_SECONDS ?? 10);
interface Result { rps: number; p50: number; p99: number; errors: number; tool: string }

async function runNode(s: Server, ids: string[], conns: number, seconds: number): Promise<Result> {
  const r = await lookupLoop(s, ids, conns, seconds);
  return { rps: r.n / seconds, p50: r.p50, p99: r.p99, errors: r.errors, tool: 'node http' };
}

async function main(): Promise<void> {
  const s = await startServer();
  try {
    const ids = await lookupFiles(s, FILES);
    const paths = join(s.dir, 'bench-paths.txt');
    writeFileSync(paths, ids.map((id) => `/api/v3/files/${id}`).join('\n') + '\n');
    const run = async (c: number, sec: number): Promise<Result> => (hasWrk() ? { ...wrk(s, paths, c, sec), tool: `wrk -t${Math.min(2, c)}` } : runNode(s, ids, c, sec));
    await run(8, 2); // warm-up
    const r8 = await run(8, SECONDS);
    const r64 = await run(64, SECONDS);
    table(`GET /api/v3/files/{id}: ${FILES} stored files, random sha256/sha1/md5 ids, ${SECONDS} s each`, [
      ['connections', 'client', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'target'],
      [8, r8.tool, r8.rps, r8.p50, r8.p99, r8.errors, `p99 < 5 ms ${verdict(r8.p99 < 5 && r8.errors === 0)}`],
      [64, r64.tool, r64.rps, r64.p50, r64.p99, r64.errors, `>= 5000 req/s ${verdict(r64.rps >= 5000 && r64.errors === 0)}`],
    ]);
  } finally {
    await s.stop();
  }
}

await main();
process.exit(0);
