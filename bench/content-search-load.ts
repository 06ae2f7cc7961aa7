// GET /api/v3/files/{id} latency while `content:` searches run: does a content search hold the
// API's event loop? Stores BENCH_GET_FILES (1000) small files to look up and BENCH_CS_FILES (100)
// files of BENCH_CS_MB (2) MB of random lowercase letters: every lowercase literal's trigrams are
// in each of them, so a search of a random 8-letter literal has every one of them as candidate
// and no match (the slow case: the page scans them all). Then, for BENCH_CS_SECONDS (15) each,
// GETs at 8 connections (this process's node client) alone, and beside BENCH_CS_CLIENTS (2)
// clients searching back to back; with each, the server's own event-loop delay over the phase
// (nodejs_eventloop_lag_max_seconds, reset by each scrape of /metrics). Run it from the checkout
// (dist/) of each build to compare.
import { randomBytes } from 'node:crypto';
import { pct, pool, printThreadCpu, quiet, request, startServer, table, threadCpu, upload, waitCompleted, type Server } from './lib/lib.js';
import { lookupFiles, lookupLoop } from './lib/lookup-files.js';

const GET_FILES = Number(process.env.BENCH_GET_FILES ?? 1000);
const CORPUS = Number(process.env.BENCH_CS_FILES ?? 100);
const MB = Number(process.env.BENCH_CS_MB ?? 2);
const SECONDS = Number(process.env.BENCH_CS_SECONDS ?? 15);
const CLIENTS = Number(process.env.BENCH_CS_CLIENTS ?? 2);
const CONNS = 8;

const lowercase = (n: number) => {
  const b = randomBytes(n);
  for (let i = 0; i < n; i++) b[i] = 97 + (b[i]! % 26);
  return b;
};

/** The server's longest event-loop delay since the last scrape (prom-client resets it on each), in ms. */
async function loopMaxMs(s: Server): Promise<number> {
  const r = await request('GET', `${s.url}/metrics`, {});
  return 1000 * Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(r.body.toString())?.[1] ?? NaN);
}

const gets = (s: Server, ids: string[], seconds: number) => lookupLoop(s, ids, CONNS, seconds);

/** Searches random 8-letter literals back to back until `stop()`; their latencies. */
function searching(s: Server): { stop(): Promise<{ n: number; p50: number; errors: number }> } {
  let running = true;
  const lats: number[] = [];
  let errors = 0;
  const clients = Array.from({ length: CLIENTS }, async () => {
    while (running) {
      const t = performance.now();
      const q = encodeURIComponent(`content:"${lowercase(8).toString('latin1')}"`);
      const r = await request('GET', `${s.url}/api/v3/intelligence/search?query=${q}&limit=10`, { 'x-apikey': s.key });
      if (r.status !== 200) errors++;
      lats.push(performance.now() - t);
    }
  });
  return {
    async stop() {
      running = false;
      await Promise.all(clients);
      return { n: lats.length, p50: pct(Float64Array.from(lats), 50), errors };
    },
  };
}

async function main(): Promise<void> {
  const s = await startServer();
  try {
    const ids = await lookupFiles(s, GET_FILES);
    const analyses: string[] = [];
    await pool(CORPUS, 4, async (i) => void analyses.push(await upload(s, `lower-${i}.txt`, lowercase(MB << 20))));
    await waitCompleted(s, analyses);
    // The content index's upkeep turns the new files into a segment: searches read that.
    await quiet(s);
    await gets(s, ids, 2); // warm-up
    await loopMaxMs(s);
    const alone = await gets(s, ids, SECONDS);
    const aloneLoop = await loopMaxMs(s);
    const cpu = threadCpu(s.proc.pid!);
    const search = searching(s);
    const beside = await gets(s, ids, SECONDS);
    const searches = await search.stop();
    const besideLoop = await loopMaxMs(s);
    // Where the searches' CPU went: the main thread (the event loop) or the search thread. Unlike
    // latencies, this does not move with the host's load.
    console.log('server threads\' CPU while searching (GETs included):');
    printThreadCpu(s.proc.pid!, cpu);
    table(`GET /api/v3/files/{id}, ${CONNS} connections, ${SECONDS} s: alone, and beside ${CLIENTS} clients searching content:"<8 random letters>" (${CORPUS} candidates of ${MB} MB, no match)`, [
      ['phase', 'GETs', 'p50 ms', 'p99 ms', 'max ms', 'errors', 'server loop max ms', 'searches', 'search p50 ms'],
      ['alone', alone.n, alone.p50, alone.p99, alone.max, alone.errors, aloneLoop, '', ''],
      ['searching', beside.n, beside.p50, beside.p99, beside.max, beside.errors + searches.errors, besideLoop, searches.n, searches.p50],
    ]);
  } finally {
    await s.stop();
  }
}

await main();
process.exit(0);
