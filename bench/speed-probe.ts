// What the speed probe at ruleset creation (src/hunting/rulesets/rule-speed-probe.ts) costs and
// refuses on public rule collections: each file of each DIR probed as one ruleset, as the API does
// on create.
//
//   node dist/bench/speed-probe.js DIR...
import { probeRulesetSpeed } from '../src/hunting/rulesets/rule-speed-probe.js';
import { ruleCollection } from './corpora/corpus.js';
import { table } from './lib/lib.js';

const rows: (string | number)[][] = [['collection', 'rulesets', 'refused as too slow', 'median ms', 'p99 ms', 'max ms', 'total s']];
for (const dir of process.argv.slice(2)) {
  const sets = ruleCollection(dir);
  const refused: string[] = [];
  const times: number[] = [];
  const t0 = performance.now();
  for (const s of sets) {
    const t = performance.now();
    try {
      probeRulesetSpeed(s.rules);
    } catch (e) {
      // Rulesets that do not compile here (missing modules, ...) are the API's to refuse otherwise.
      if (/too slow/.test((e as Error).message)) refused.push(s.name);
    }
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  rows.push([dir, sets.length, refused.length ? `${refused.length}: ${refused.slice(0, 5).join(', ')}` : 0, times[times.length >> 1]!, times[Math.floor(times.length * 0.99)]!, times.at(-1)!, (performance.now() - t0) / 1000]);
}
table('the speed probe over public rule collections (one thread)', rows);
