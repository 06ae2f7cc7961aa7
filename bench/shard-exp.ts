import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileRulesets } from '../src/hunting/compiled-rules.js';
import { benchmarkRulesets } from './rule-corpus.js';

const all = benchmarkRulesets(Number(process.env.N ?? 1000)).map((r, i) => ({ id: String(i + 1), source: r.rules }));
const files: Buffer[] = [];
for (const d of ['/usr/bin', '/usr/lib/x86_64-linux-gnu']) {
  for (const f of readdirSync(d)) {
    try { const p = join(d, f); const s = statSync(p); if (s.isFile() && s.size < 16384 && s.size > 0) files.push(readFileSync(p)); } catch {}
    if (files.length >= 800) break;
  }
}
console.log('files', files.length, 'MB', files.reduce((a, b) => a + b.length, 0) / 1e6);
for (const per of (process.env.PER ?? '1000,200,64,16').split(',').map(Number)) {
  let t = performance.now();
  const shards = [];
  for (let i = 0; i < all.length; i += per) shards.push(compileRulesets(all.slice(i, i + per)));
  const compileMs = performance.now() - t;
  const failed = shards.reduce((a, s) => a + s.failed.length, 0);
  for (const s of shards) s.scan(files[0]!, 10000);
  t = performance.now();
  let matches = 0;
  for (const f of files) for (const s of shards) matches += s.scan(f, 10000).length;
  const scanMs = performance.now() - t;
  console.log(JSON.stringify({ per, shards: shards.length, failed, compileMs: Math.round(compileMs), perShardCompileMs: Math.round(compileMs / shards.length), scanMsPerFile: +(scanMs / files.length).toFixed(3), matches }));
}
