// Engine alone over a kept corpus's blobs, one thread: plain scans against scans with the
// external variables a Retrohunt job passes (variablesOf), alternated.
//   node dist/bench/probes/scan-vars.js DATA_DIR RULES.yar
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compileVersions } from '../../src/hunting/engine/shared-compile.js';
import { MAX_MATCHES_PER_PATTERN } from '../../src/hunting/scan/matcher.js';
import { scanVariables } from '../../src/hunting/scan/scan-variables.js';
import { MB } from '../lib/lib.js';

const [dataDir, rulesPath] = process.argv.slice(2) as [string, string];
const paths: string[] = [];
const walk = (d: string) => {
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.isDirectory()) walk(join(d, e.name));
    else if (/^[0-9a-f]{64}$/.test(e.name)) paths.push(join(d, e.name));
  }
};
walk(join(dataDir, 'blobs'));
const bytes = paths.reduce((n, p) => n + statSync(p).size, 0);
const rules = compileVersions([{ id: 0, generation: 0, rules: readFileSync(rulesPath, 'utf8') }]);
rules.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
const vars = scanVariables({ name: 'libfoo.so.1', newFile: false, submissions: 1 }, { magic: 'ELF', typeDescription: 'ELF', typeTag: 'elf', typeTags: ['elf'], typeExtension: 'so', tags: [] } as never);
const small = paths.filter((p) => statSync(p).size < 64 * 1024);
for (let r = 0; r < 2; r++) {
  for (const withVars of [false, true]) {
    const t = performance.now();
    for (const p of paths) rules.scan(readFileSync(p), 60_000, withVars ? vars : undefined);
    const s = (performance.now() - t) / 1000;
    const t2 = performance.now();
    for (const p of small) rules.scan(readFileSync(p), 60_000, withVars ? vars : undefined);
    const us = ((performance.now() - t2) * 1000) / small.length;
    console.log(`${withVars ? 'variables' : 'plain    '}: ${(bytes / MB / s).toFixed(0)} MB/s over ${paths.length} blobs; ${small.length} blobs < 64 KB: ${us.toFixed(0)} us each`);
  }
}
