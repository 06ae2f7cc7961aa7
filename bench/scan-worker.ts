// Worker thread of hunting-throughput.ts's engine-only run: scans its share of the files with
// the compiled rules it is given (YARA-X, as Trawl's analysis threads do) and reports matches.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { CompiledRules } from '../src/hunting/compiled-rules.js';

const { bytes, files } = workerData as { bytes: SharedArrayBuffer; files: string[] };
const rules = CompiledRules.deserialize(Buffer.from(bytes));
parentPort!.once('message', () => {
  let matches = 0;
  for (const f of files) matches += rules.scan(readFileSync(f), 60_000).length;
  parentPort!.postMessage(matches);
});
parentPort!.postMessage('ready');
