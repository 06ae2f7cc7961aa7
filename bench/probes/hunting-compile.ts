// Measures compileRulesets with 1,000 rulesets x 10 rules: compile, serialize, deserialize, and the
// scan time per small file. Run: npx tsc -p tsconfig.json && node dist/bench/probes/hunting-compile.js
import { randomBytes } from 'node:crypto';
import { compileRulesets, CompiledRules } from '../../src/hunting/engine/compiled-rules.js';

const rulesets = Array.from({ length: Number(process.env.RULESETS ?? 1000) }, (_, r) => ({
  id: String(1_000_000 + r),
  source: Array.from({ length: 10 }, (_, k) => {
    const hex = randomBytes(6).toString('hex').toUpperCase().match(/../g)!.join(' ');
    return `rule rule_${k} : t${k % 3} {\n  strings:\n    $s = "marker-${r}-${k}-text" ascii wide\n    $h = { ${hex} [2-8] 4D 5A }\n    $r = /evil[0-9]{2,4}\\.(exe|dll)-${r}-${k}/\n  condition:\n    any of them and filesize < 10MB\n}`;
  }).join('\n'),
}));

let t = performance.now();
const compiled = compileRulesets(rulesets);
const compileMs = performance.now() - t;
t = performance.now();
const buf = compiled.serialize();
const serializeMs = performance.now() - t;
t = performance.now();
const back = CompiledRules.deserialize(buf);
const deserializeMs = performance.now() - t;

const files = Array.from({ length: 500 }, (_, i) => Buffer.concat([randomBytes(2048), Buffer.from(i % 50 === 0 ? 'marker-5-3-text' : '')]));
back.scan(files[0]!, 10_000);
t = performance.now();
let matched = 0;
for (const f of files) matched += back.scan(f, 10_000).length;
const scanMs = (performance.now() - t) / files.length;
console.log(JSON.stringify({
  rulesets: rulesets.length, rules: rulesets.length * 10, failed: compiled.failed.length,
  compileMs: Math.round(compileMs), serializeMs: Math.round(serializeMs), serializedMB: +(buf.length / 1e6).toFixed(1),
  deserializeMs: Math.round(deserializeMs), scanMsPer2KBFile: +scanMs.toFixed(3), matched,
}));
