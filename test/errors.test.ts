// The error registry: every code has one HTTP status and is documented in docs/api.md, and no
// other code is named anywhere.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { errorStatus } from '../src/api/error-status.js';

describe('error registry', () => {
  it('documents every code with its status', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const [code, status] of Object.entries(errorStatus)) {
      assert.match(doc, new RegExp(`\\| \`${code}\` \\| ${status} \\|`), `${code} (${status}) in docs/api.md`);
    }
  });
});

describe('error registry is whole', () => {
  const src = fileURLToPath(new URL('../../src', import.meta.url));
  const sources = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []);

  it('knows every error code the code names, the docs name, and no other', () => {
    const codes = new Set(Object.keys(errorStatus));
    const unknown: string[] = [];
    // Error classes declared here (ConfigError, ApiError...) are classes, not codes.
    const classes = new Set(JS_ERRORS);
    for (const file of sources(src)) for (const m of readFileSync(file, 'utf8').matchAll(/class (\w+Error) extends/g)) classes.add(m[1]!);
    for (const file of sources(src)) {
      // The CLI labels answers that carry no VirusTotal code itself (ClientError, ServerError).
      if (file.includes(`${join('src', 'cli')}/`)) continue;
      const text = readFileSync(file, 'utf8')
        // The names of JavaScript error classes are not codes (`this.name = 'ScanTimeoutError'`).
        .replace(/\bname(?:\s*=|:)\s*'[A-Za-z]+'/g, '');
      for (const m of text.matchAll(/'([A-Z][A-Za-z]*(?:Error|TooManyRequests|NotAvailableYet))'/g)) {
        if (!codes.has(m[1]!)) unknown.push(`${relative(src, file)}: ${m[1]}`);
      }
      for (const m of text.matchAll(/\b([A-Z][A-Za-z]*Error)\b/g)) {
        // In comments and messages, a code-shaped word must be a code or a JavaScript class.
        if (!codes.has(m[1]!) && !classes.has(m[1]!)) unknown.push(`${relative(src, file)}: ${m[1]}`);
      }
    }
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    for (const m of doc.matchAll(/`([A-Z][A-Za-z]*Error)`/g)) if (!codes.has(m[1]!)) unknown.push(`docs/api.md: ${m[1]}`);
    assert.deepEqual([...new Set(unknown)], [], 'codes outside the registry (model/errors.ts, api/error-status.ts)');
  });
});

/** JavaScript's and its libraries' error classes, and the name a failed structured clone has. */
const JS_ERRORS = ['Error', 'TypeError', 'RangeError', 'SyntaxError', 'ReferenceError', 'AggregateError', 'AbortError', 'FastifyError', 'DataCloneError'];
