// Rewrites the settings table of docs/configuration.md from src/config.ts (run after a build:
// `node scripts/config-doc.mjs`). test/config.test.ts checks that every setting is listed.
import { readFileSync, writeFileSync } from 'node:fs';
import { envName, fields, flagName } from '../dist/src/config.js';

const path = new URL('../docs/configuration.md', import.meta.url);
const doc = readFileSync(path, 'utf8');
const head = '| key (JSON file) | flag | environment | default | meaning |\n|---|---|---|---|---|\n';
const rows = Object.entries(fields).map(([k, f]) => {
  const values = f.values ? ` (${f.values.join(', ')})` : '';
  return `| \`${k}\` | \`--${flagName(k)}\` | \`${envName(k)}\` | \`${JSON.stringify(f.default)}${values}\` | ${f.doc} |`;
});
const start = doc.indexOf(head);
const end = doc.indexOf('\n\n', start + head.length);
if (start < 0 || end < 0) throw new Error('settings table not found in docs/configuration.md');
writeFileSync(path, doc.slice(0, start) + head + rows.join('\n') + doc.slice(end));
