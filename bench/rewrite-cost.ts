// What the condition rewrite (src/hunting/engine/unconstrained-conditions.ts) costs the engine: the
// same rulesets compiled as written and rewritten, scanned over the same real files on one thread,
// the two sets alternated round by round. Also checks both give the same matches on these files
// (the rewrite only takes away an optimisation) and times the compile.
//
//   node dist/bench/rewrite-cost.js [generated | DIR] [small | large] [rounds=3]
//
// `generated`: bench/corpora/rule-corpus.ts's 1,000 rulesets x 10 rules (the Livehunt benchmark's);
// DIR: a rule collection, one ruleset per file (e.g. signature-base's yara/ folder).
import { readFileSync } from 'node:fs';
import { compileRulesets, type CompiledRules } from '../src/hunting/engine/compiled-rules.js';
import { MAX_MATCHES_PER_PATTERN } from '../src/hunting/scan/matcher.js';
import { largeCorpus, ruleCollection, smallCorpus } from './corpora/corpus.js';
import { MB, table } from './lib/lib.js';
import { benchmarkRulesets } from './corpora/rule-corpus.js';

const [what = 'generated', size = 'small', roundsArg = '3'] = process.argv.slice(2);
const rounds = Number(roundsArg);
const rulesets =
  what === 'generated'
    ? benchmarkRulesets(1000).map((r, i) => ({ id: String(i + 1), source: r.rules }))
    : ruleCollection(what).map((r, i) => ({ id: String(i + 1), source: r.rules }));
const files = (size === 'large' ? largeCorpus(200) : smallCorpus(5000)).map((f) => readFileSync(f.path));
const bytes = files.reduce((n, f) => n + f.length, 0);

function compile(asWritten: boolean): { rules: CompiledRules; seconds: number } {
  const t = performance.now();
  const rules = compileRulesets(rulesets, { asWritten });
  rules.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
  return { rules, seconds: (performance.now() - t) / 1000 };
}

const sets = { 'as written': compile(true), rewritten: compile(false) };
for (const [name, s] of Object.entries(sets)) if (s.rules.failed.length) console.log(`${name}: ${s.rules.failed.length} rulesets did not compile`);

const times: Record<string, number[]> = { 'as written': [], rewritten: [] };
const found: Record<string, Set<string>> = { 'as written': new Set(), rewritten: new Set() };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 === 0 ? (['as written', 'rewritten'] as const) : (['rewritten', 'as written'] as const);
  for (const name of order) {
    const t = performance.now();
    files.forEach((f, i) => {
      for (const m of sets[name].rules.scan(f, 60_000)) found[name]!.add(`${i}\t${m.rulesetId}\t${m.rule}`);
    });
    times[name]!.push((performance.now() - t) / 1000);
  }
}

const rows: (string | number)[][] = [['set', 'compile s', 'scan s (each round)', 'files/s (best)', 'MB/s (best)', 'matches']];
for (const name of ['as written', 'rewritten'] as const) {
  const best = Math.min(...times[name]!);
  rows.push([name, sets[name].seconds, times[name]!.map((t) => t.toFixed(2)).join(' / '), files.length / best, bytes / MB / best, found[name]!.size]);
}
table(`${what} rules, ${files.length} ${size} files (${(bytes / MB).toFixed(1)} MB), one thread`, rows);
const a = found['as written']!;
const b = found.rewritten!;
console.log(`matches only as written: ${[...a].filter((k) => !b.has(k)).length}, only rewritten: ${[...b].filter((k) => !a.has(k)).length}`);
