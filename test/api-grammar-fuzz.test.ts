// Property tests of what clients write, against a real server: filters built from every grammar's
// keys with odd values (every list that takes one, and the IoC Stream's DELETE), multipart upload
// bodies bent in every way, and ruleset JSON with every attribute given every kind of value. The
// answer is a success or a VirusTotal-shaped error with a 4xx status, never a 500.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { api, newUser, startTestService, type TestService } from './helpers/service.js';

const SEED = 23;

/** A success, or a 4xx with {"error":{"code","message"}}. */
function wellAnswered(label: string, status: number, contentType: string, text: string): void {
  assert.ok(status < 500, `${label}: ${status} ${text.slice(0, 300)}`);
  if (status < 400) return;
  assert.match(contentType, /^application\/json/, `${label}: ${status} not JSON`);
  const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
  assert.equal(typeof body.error?.code, 'string', label);
  assert.equal(typeof body.error?.message, 'string', label);
}

const KEYS = ['date', 'origin', 'entity_id', 'entity_type', 'source_type', 'source_id', 'notification_tag', 'tag', 'owner', 'name', 'rules', 'enabled', 'DATE', 'x', ''];
const value = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom('2024-01-01', '2024-01-01+', '2024-02-30-', '1700000000', '1700000000-', '99999999999999', 'hunting', 'file', 'hunting_ruleset', 'true', '*', 'a*', '%', "'", '"', '\\', '\u0000'),
  fc.integer().map(String),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 64, maxLength: 64 }),
);
const term = fc.tuple(fc.constantFrom(...KEYS), value).map(([k, v]) => (k ? `${k}:${v}` : v));
const filter = fc.array(term, { maxLength: 40 }).chain((terms) => fc.constantFrom(' ', '  ', '+', '\t').map((sep) => terms.join(sep)));

describe('grammar fuzzing against a real server', () => {
  let s: TestService;
  let key: string;
  before(async () => {
    s = await startTestService();
    key = await newUser(s, 'fuzzer');
    await api(s.url, key, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'fz', enabled: true, rules: 'rule fz { condition: true }' } } });
  });
  after(async () => s.stop());

  it('filters of every list, and of the IoC Stream\'s DELETE', async () => {
    const paths = ['/api/v3/ioc_stream', '/api/v3/intelligence/hunting_notifications', '/api/v3/intelligence/hunting_notification_files', '/api/v3/intelligence/hunting_rulesets', '/api/v3/users/fuzzer/hunting_notification_files'];
    await fc.assert(
      fc.asyncProperty(filter, fc.constantFrom(...paths, 'DELETE'), fc.constantFrom('', 'date-', 'date+', 'name', 'x'), async (f, path, order) => {
        const method = path === 'DELETE' ? 'DELETE' : 'GET';
        const url = `${s.url}${path === 'DELETE' ? '/api/v3/ioc_stream' : path}?filter=${encodeURIComponent(f)}${order ? `&order=${order}` : ''}`;
        const res = await fetch(url, { method, headers: { 'x-apikey': key } });
        wellAnswered(`${method} ${url}`, res.status, res.headers.get('content-type') ?? '', await res.text());
      }),
      { numRuns: 250, seed: SEED },
    );
  });

  it('multipart upload bodies', async () => {
    const part = fc.record({
      name: fc.constantFrom('file', 'password', 'x', '', 'file"; filename="a'),
      filename: fc.option(fc.string({ maxLength: 40 })),
      type: fc.option(fc.constantFrom('application/octet-stream', 'text/plain', '', 'multipart/mixed')),
      content: fc.uint8Array({ maxLength: 300 }),
    });
    const body = fc.record({
      boundary: fc.constantFrom('b', 'trawl-boundary', '----x', 'a'.repeat(70), ''),
      declared: fc.constantFrom('same', 'other', 'none', 'quoted'),
      parts: fc.array(part, { maxLength: 4 }),
      end: fc.constantFrom('close', 'none', 'truncated', 'garbage'),
    });
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const chunks: Buffer[] = [];
        for (const p of b.parts) {
          const disp = `form-data; name="${p.name}"${p.filename !== null ? `; filename="${p.filename}"` : ''}`;
          chunks.push(Buffer.from(`--${b.boundary}\r\nContent-Disposition: ${disp}\r\n${p.type !== null ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), Buffer.from(p.content), Buffer.from('\r\n'));
        }
        if (b.end === 'close') chunks.push(Buffer.from(`--${b.boundary}--\r\n`));
        if (b.end === 'garbage') chunks.push(Buffer.from('--garbage'));
        let payload = Buffer.concat(chunks);
        if (b.end === 'truncated') payload = payload.subarray(0, Math.floor(payload.length / 2));
        const ct = b.declared === 'none' ? 'multipart/form-data' : `multipart/form-data; boundary=${b.declared === 'other' ? 'zzz' : b.declared === 'quoted' ? `"${b.boundary}"` : b.boundary}`;
        const res = await fetch(`${s.url}/api/v3/files`, { method: 'POST', headers: { 'x-apikey': key, 'content-type': ct }, body: payload });
        wellAnswered(`upload ${JSON.stringify(b).slice(0, 200)}`, res.status, res.headers.get('content-type') ?? '', await res.text());
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  it('ruleset JSON', async () => {
    const anyValue = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.string({ maxLength: 20 }), { maxLength: 25 }), fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }));
    const attrs = fc.dictionary(
      fc.constantFrom('name', 'rules', 'enabled', 'limit', 'notification_emails', 'match_object_type', 'tags', 'creation_date', 'rule_names', 'x'),
      fc.oneof(anyValue, fc.constantFrom('rule r { condition: true }', 'rule r { strings: $a = "x" condition: $a }', 'rule {', 'file', 'soc@example.org')),
    );
    const doc = fc.oneof(
      attrs.map((a) => ({ data: { type: 'hunting_ruleset', attributes: a } })),
      fc.json().map((j) => JSON.parse(j) as unknown),
      attrs.map((a) => ({ data: { attributes: a } })),
      attrs.map((a) => ({ data: [a] })),
    );
    let created = 0;
    await fc.assert(
      fc.asyncProperty(doc, fc.boolean(), async (d, patch) => {
        const path = patch ? '/api/v3/intelligence/hunting_rulesets/1' : '/api/v3/intelligence/hunting_rulesets';
        const res = await fetch(`${s.url}${path}`, { method: patch ? 'PATCH' : 'POST', headers: { 'x-apikey': key, 'content-type': 'application/json' }, body: JSON.stringify(d) });
        const text = await res.text();
        if (res.status === 200 && !patch) created++;
        wellAnswered(`${patch ? 'PATCH' : 'POST'} ${JSON.stringify(d).slice(0, 200)}`, res.status, res.headers.get('content-type') ?? '', text);
      }),
      { numRuns: 250, seed: SEED },
    );
    assert.ok(created >= 0);
    assert.equal((await api(s.url, key, 'GET', '/api/v3/users/fuzzer')).status, 200, 'the server still answers');
  });
});
