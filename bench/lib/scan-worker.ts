// Worker thread of hunting-throughput.ts's engine-only run: scans its share of the files with
// the compiled rules it is given (YARA-X, as Trawl's analysis threads do) and reports its matches
// and the CPU seconds it took (reading the files from the page cache, and scanning them).
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CompiledRules } from '../../src/hunting/engine/compiled-rules.js';
import { ownThreadCpuSeconds } from './lib.js';

const { bytes, files } = workerData as { bytes: SharedArrayBuffer; files: string[] };
const rules = CompiledRules.deserialize(Buffer.from(bytes));
parentPort!.once('message', () => {
  let matches = 0;
  const before = ownThreadCpuSeconds();
  for (const f of files) matches += rules.scan(readFileSync(f), 60_000).length;
  parentPort!.postMessage({ matches, cpu: ownThreadCpuSeconds() - before });
});
parentPort!.postMessage('ready');
