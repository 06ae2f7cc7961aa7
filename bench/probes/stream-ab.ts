// IoC Stream pages of each kind on one kept database (bench/ioc-stream.ts with BENCH_STREAM_KEEP=
// FILE), server variants side by side, alternated BENCH_AB_ROUNDS (2) times: pages/s, p50 and p99
// at 16 connections, with the disk reads and the CPU of the server and of PostgreSQL per page.
// Usage: node dist/bench/probes/stream-ab.js KEPT.json VARIANT... where a VARIANT is
//   [BUILD][@FLAGS.json][^NODE_ARGS]: a checkout with its own dist/ (default: this one), another
//   {flags} file for the same data (e.g. a socket URL instead of TCP), node's options (default:
//   those `make start` uses; "^" alone for none).
// Env: BENCH_STREAM_NOTIFICATIONS (10,000,000: what was generated), BENCH_AB_KINDS (comma-
// separated prefixes of the kinds' names; default all), BENCH_AB_SECONDS (8), BENCH_AB_ROUNDS (2),
// BENCH_AB_EXTRA (appended to every path, e.g. "&count_limit=10000").
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuSeconds, postgresCpu, ROOT, type Server, type WrkResult } from '../lib/lib.js';
import { readKept, streamPageKinds } from '../corpora/notification-corpus.js';

const [kept, ...variants] = process.argv.slice(2);
if (!kept || variants.length === 0) throw new Error('usage: stream-ab.js KEPT.json VARIANT...');
const N = Number(process.env.BENCH_STREAM_NOTIFICATIONS ?? 10_000_000);
const SECONDS = Number(process.env.BENCH_AB_SECONDS ?? 8);
const ROUNDS = Number(process.env.BENCH_AB_ROUNDS ?? 2);
const only = process.env.BENCH_AB_KINDS?.split(',');
const EXTRA = process.env.BENCH_AB_EXTRA ?? '';
const { flags, dir, key } = readKept(kept);

/** CPU seconds of a process, 0 once it is gone (a PostgreSQL backend may end between pgrep and the read). */
function cpuOf(pid: number): number {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
}
const diskReadMb = () => Number(/pgpgin (\d+)/.exec(readFileSync('/proc/vmstat', 'utf8'))![1]) / 1024;

// One set of random paths per kind for the whole run, so every variant gets the same requests.
const paths = new Map<string, string>();
for (const [kind, make] of Object.entries(streamPageKinds(N))) {
  if (only && !only.some((p) => kind.startsWith(p))) continue;
  const file = join(dir, `ab-${paths.size}.txt`);
  writeFileSync(file, Array.from({ length: 2000 }, () => `/api/v3/ioc_stream?${make()}${EXTRA}`).join('\n') + '\n');
  paths.set(kind, file);
}

for (let round = 0; round < ROUNDS; round++) {
  for (const variant of variants) {
    const [rest, nodeArgs] = variant.split('^') as [string, string | undefined];
    const [build, flagsFile] = rest.split('@') as [string, string | undefined];
    // A variant runs its own build's server, through that build's bench library.
    const lib = (await import(join(build || ROOT, 'dist/bench/lib/lib.js'))) as typeof import('../lib/lib.js');
    if (nodeArgs === undefined) delete process.env.BENCH_NODE_ARGS;
    else process.env.BENCH_NODE_ARGS = nodeArgs;
    const serverFlags = flagsFile ? readKept(flagsFile).flags : flags;
    const s: Server = await lib.startServer(serverFlags, { dir, key });
    console.log(`== round ${round + 1}: ${variant}`);
    for (const [kind, file] of paths) {
      lib.wrk(s, file, 16, 2);
      const [disk0, node0, pg0] = [diskReadMb(), cpuOf(s.proc.pid!), postgresCpu()];
      const r: WrkResult = lib.wrk(s, file, 16, SECONDS);
      const pages = r.rps * SECONDS;
      const perPage = (cpu: number) => ((cpu * 1000) / pages).toFixed(2);
      console.log(`${kind} | ${Math.round(r.rps)} pages/s | p50 ${r.p50} ms | p99 ${r.p99} ms | errors ${r.errors} | ` +
        `disk read ${(diskReadMb() - disk0).toFixed(0)} MB | server ${perPage(cpuOf(s.proc.pid!) - node0)} ms/page | PostgreSQL ${perPage(postgresCpu() - pg0)} ms/page`);
    }
    await s.stop(true);
  }
}
process.exit(0);
