// Large-file intake: ~500 MB of real files (>= 64 KB, /usr/lib + /usr/bin) uploaded through the API,
// timed to last acknowledgement and to last completed analysis, beside sha256sum+md5sum+sha1sum.
// Env: BENCH_LARGE_MB (500), BENCH_LARGE_CONC (4 uploads in flight), BENCH_THREADS (print the
// server threads' CPU up to the last acknowledgement).
import { spawnSync } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { largeCorpus } from './corpora/corpus.js';
import { MB, pool, printThreadCpu, startServer, table, threadCpu, upload, verdict, waitCompleted } from './lib/lib.js';

const TARGET_MB = Number(process.env.BENCH_LARGE_MB ?? 500);
const CONC = Number(process.env.BENCH_LARGE_CONC ?? 4);

function timeTool(tool: string, list: string): number {
  const t = performance.now();
  const r = spawnSync('sh', ['-c', `xargs -0 ${tool} < '${list}' > /dev/null`], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`${tool} failed`);
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  const files = largeCorpus(TARGET_MB);
  const bytes = files.reduce((a, f) => a + f.size, 0);
  const mb = bytes / MB;
  const list = join(process.env.BENCH_TMP ?? '/tmp', `trawl-bench-corpus-${process.pid}`);
  await writeFile(list, files.map((f) => f.path).join('\0'));
  // Warm the page cache so both sides read from memory.
  for (const f of files) await readFile(f.path);
  console.log(`corpus: ${files.length} files, ${mb.toFixed(0)} MB (largest ${(Math.max(...files.map((f) => f.size)) / MB).toFixed(1)} MB), page cache warmed`);

  const tools = ['sha256sum', 'md5sum', 'sha1sum'].map((t) => [t, timeTool(t, list)] as const);
  const toolsTotal = tools.reduce((a, [, s]) => a + s, 0);
  const tp = performance.now();
  spawnSync('sh', ['-c', `xargs -0 sha256sum < '${list}' >/dev/null & xargs -0 md5sum < '${list}' >/dev/null & xargs -0 sha1sum < '${list}' >/dev/null & wait`]);
  const toolsPar = (performance.now() - tp) / 1000;

  const s = await startServer();
  try {
    const ids: string[] = new Array(files.length);
    const threads0 = threadCpu(s.proc.pid!);
    const t0 = performance.now();
    await pool(files.length, CONC, async (i) => {
      const f = files[i]!;
      ids[i] = await upload(s, f.path.split('/').pop()!, await readFile(f.path));
    });
    const acked = (performance.now() - t0) / 1000;
    if (process.env.BENCH_THREADS) {
      console.log('server threads, CPU until the last upload was acknowledged:');
      printThreadCpu(s.proc.pid!, threads0);
    }
    const done = (await waitCompleted(s, ids) - t0) / 1000;
    const rate = mb / acked;
    table(`large uploads: ${files.length} files, ${mb.toFixed(0)} MB, ${CONC} in flight`, [
      ['run', 'seconds', 'MB/s', 'target'],
      ['trawl: all uploads acknowledged', acked, rate, `>= 150 MB/s ${verdict(rate >= 150)}`],
      ['trawl: all analyses completed', done, mb / done, ''],
      ...tools.map(([t, sec]) => [t, sec, mb / sec, '']),
      ['sha256sum+md5sum+sha1sum, one after another', toolsTotal, mb / toolsTotal, ''],
      ['the three tools at once (2 cores)', toolsPar, mb / toolsPar, ''],
    ]);
  } finally {
    await s.stop();
    await rm(list, { force: true });
  }
}

await main();
process.exit(0);
