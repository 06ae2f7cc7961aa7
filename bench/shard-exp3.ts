import { readFileSync } from 'node:fs';
import { compileRulesets, CompiledRules } from '../src/hunting/compiled-rules.js';
import { benchmarkRulesets } from './rule-corpus.js';
const all = benchmarkRulesets(1000).map((r, i) => ({ id: String(i + 1), source: r.rules }));
let t = performance.now();
const base = compileRulesets(all);
console.log('compile', performance.now() - t);
t = performance.now();
const buf = base.serialize();
console.log('serialize', performance.now() - t, 'MB', buf.length / 1e6);
t = performance.now();
const back = CompiledRules.deserialize(buf);
console.log('deserialize', performance.now() - t);
t = performance.now();
const delta = compileRulesets(all.slice(0, 1));
console.log('delta1 compile', performance.now() - t);
t = performance.now();
const delta32 = compileRulesets(all.slice(0, 32));
console.log('delta32 compile', performance.now() - t);
const big = readFileSync('/usr/bin/node').subarray(0, 20_000_000);
for (const [name, sets] of [['base', [back]], ['base+delta1', [back, delta]], ['base+delta32', [back, delta32]]] as const) {
  t = performance.now();
  for (const s of sets) s.scan(big, 60000);
  console.log(name, 'MB/s', (20 / ((performance.now() - t) / 1000)).toFixed(1));
}
const small = readFileSync('/usr/bin/ls').subarray(0, 8000);
for (const [name, sets] of [['base', [back]], ['base+delta1', [back, delta]], ['delta1', [delta]]] as const) {
  t = performance.now();
  for (let i = 0; i < 1000; i++) for (const s of sets) s.scan(small, 60000);
  console.log(name, 'ms/file 8KB', ((performance.now() - t) / 1000).toFixed(3));
}
console.log(process.memoryUsage().rss / 1e6);
