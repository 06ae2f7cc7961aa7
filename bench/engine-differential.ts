// Differential run of the hunting engine against Debian's yara 4.x, at scale: generated cases
// (test/helpers/yara-cases.ts: rulesets sharing and overlapping patterns, files made to hit and
// miss them) through Trawl's hunting path and through `yara`, every (rule, file) decision compared.
// Prints the totals, the differences by kind and the first few in full.
//
//   node dist/bench/engine-differential.js [min-cases=100000] [seed=1]
//
// BENCH_DIFF_RAW=1 compiles the rulesets as written (no condition rewrite), to show what the
// rewrite prevents.
import fc from 'fast-check';
import { caseSize, engineCaseArb, type EngineCase } from '../test/helpers/yara-cases.js';
import { minus, referenceYaraVersion, trawlMatches, yaraMatches, type CaseRuleset } from '../test/helpers/reference-yara.js';
import { yaraXEngineVersion } from '../src/hunting/engine/yara-x.js';

const minCases = Number(process.argv[2] ?? 100_000);
const seed = Number(process.argv[3] ?? 1);

const reference = await referenceYaraVersion();
if (!reference) throw new Error('Debian\'s yara is needed: apt-get install yara');

interface Difference {
  kind: 'missed' | 'extra';
  key: string;
  c: EngineCase;
}

let cases = 0;
let decided = 0;
let runs = 0;
let refusedByYara = 0;
let refusedByTrawl = 0;
const differences: Difference[] = [];
const started = Date.now();
const samples = fc.sample(engineCaseArb({ maxRulesets: 5, maxFiles: 8 }), { numRuns: Math.ceil(minCases / 20) * 4, seed });
for (const c of samples) {
  if (decided >= minCases) break;
  runs++;
  const rulesets: CaseRuleset[] = c.rulesets.map((source, i) => ({ id: i + 1, source }));
  const ref = await yaraMatches(rulesets, c.files);
  const trawl = trawlMatches(rulesets, c.files, undefined, { asWritten: !!process.env.BENCH_DIFF_RAW });
  // Compare only rulesets both engines accept (acceptance differences are counted, not compared).
  const both = rulesets.filter((r) => !ref.refused.has(r.id) && !trawl.failed.has(r.id));
  refusedByYara += ref.refused.size;
  refusedByTrawl += trawl.failed.size;
  if (both.length === 0) continue;
  const kept = new Set(both.map((r) => r.id));
  const keep = (s: Set<string>) => new Set([...s].filter((k) => kept.has(Number(k.split('\t')[1]))));
  const a = keep(ref.matches);
  const b = keep(trawl.matches);
  for (const key of minus(a, b)) differences.push({ kind: 'missed', key, c });
  for (const key of minus(b, a)) differences.push({ kind: 'extra', key, c });
  cases++;
  decided += caseSize({ rulesets: both.map((r) => r.source), files: c.files });
  if (runs % 200 === 0) process.stderr.write(`${runs} runs, ${decided} (rule, file) cases, ${differences.length} differences\n`);
}

const missed = differences.filter((d) => d.kind === 'missed').length;
console.log(JSON.stringify({
  engine: `YARA-X ${yaraXEngineVersion()}`,
  reference,
  rewrite: process.env.BENCH_DIFF_RAW ? 'off' : 'on',
  seed,
  runs,
  casesCompared: cases,
  ruleFileCases: decided,
  missed,
  extra: differences.length - missed,
  rulesetsRefusedByYara: refusedByYara,
  rulesetsRefusedByTrawl: refusedByTrawl,
  seconds: Math.round((Date.now() - started) / 1000),
}, null, 1));
for (const d of differences.slice(0, Number(process.env.BENCH_DIFF_SHOW ?? 3))) {
  const [file, ruleset, rule] = d.key.split('\t');
  console.log(`\n--- ${d.kind}: file ${file}, ruleset ${ruleset}, rule ${rule}`);
  d.c.rulesets.forEach((r, i) => console.log(`// ruleset ${i + 1}\n${r}`));
  console.log(`file ${file}: ${d.c.files[Number(file)]!.toString('hex')}`);
}
