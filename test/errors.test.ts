// The error registry: every code has one HTTP status and is documented in docs/api.md.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
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
