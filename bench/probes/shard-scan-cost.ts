// Why one large shard: scanning 20 MB of /usr/bin/node with the 1,000-ruleset benchmark set
// compiled as one set vs as 16 sets of 64 (docs/architecture.md, Hunting). Run after a build:
// node dist/bench/probes/shard-scan-cost.js
import { readFileSync } from 'node:fs';
import { compileRulesets } from '../../src/hunting/engine/compiled-rules.js';
import { benchmarkRulesets } from '../corpora/rule-corpus.js';
const all = benchmarkRulesets(1000).map((r, i) => ({ id: String(i + 1), source: r.rules }));
const big = [readFileSync('/usr/bin/node').subarray(0, 20_000_000)];
for (const per of [1000, 64]) {
  const shards = [];
  for (let i = 0; i < all.length; i += per) shards.push(compileRulesets(all.slice(i, i + per)));
  const t = performance.now();
  let m = 0;
  for (const f of big) for (const s of shards) m += s.scan(f, 60000).length;
  const ms = performance.now() - t;
  console.log(per, shards.length, 'MB/s', (20 / (ms / 1000)).toFixed(1), m);
}
