// The engine alone on a kept Retrohunt corpus (bench/probes/retrohunt-ab.ts's BENCH_AB_KEEP data
// folder): the job's rules compiled as a job compiles them, every stored blob read and scanned on
// one thread, beside `yara -p 1` over the same blobs; rounds alternated. Tells how much of a job's
// time is the engine's own.
//   node dist/bench/probes/retrohunt-engine.js DATA_DIR RULES.yar [rounds=2]
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileVersions } from '../../src/hunting/engine/shared-compile.js';
import { MAX_MATCHES_PER_PATTERN } from '../../src/hunting/scan/matcher.js';
import { MB } from '../lib/lib.js';

const [dataDir, rulesPath, roundsArg = '2'] = process.argv.slice(2);
if (!dataDir || !rulesPath) throw new Error('usage: retrohunt-engine.js DATA_DIR RULES.yar [rounds]');
const blobs = join(dataDir, 'blobs');
const paths: string[] = [];
const walk = (d: string) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (/^[0-9a-f]{64}$/.test(e.name)) paths.push(join(d, e.name));
  }
};
walk(blobs);
const bytes = paths.reduce((n, p) => n + statSync(p).size, 0);
const source = readFileSync(rulesPath, 'utf8');
let t = performance.now();
const rules = compileVersions([{ id: 0, generation: 0, rules: source }]);
rules.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
console.log(`${paths.length} blobs, ${(bytes / MB).toFixed(0)} MB; compiled in ${(performance.now() - t).toFixed(0)} ms`);
for (let r = 0; r < Number(roundsArg); r++) {
  t = performance.now();
  let n = 0;
  for (const p of paths) n += rules.scan(readFileSync(p), 60_000).length;
  const engine = (performance.now() - t) / 1000;
  t = performance.now();
  execFileSync('yara', ['-p', '1', '-r', '-w', rulesPath, blobs], { stdio: ['ignore', 'ignore', 'inherit'] });
  const yara = (performance.now() - t) / 1000;
  console.log(`round ${r + 1}: YARA-X one thread ${engine.toFixed(2)} s = ${(bytes / MB / engine).toFixed(0)} MB/s (${n} matches); yara -p 1 ${yara.toFixed(2)} s = ${(bytes / MB / yara).toFixed(0)} MB/s; ratio ${(yara / engine).toFixed(2)}x`);
}
