// Property test over the HTTP surface: whatever the method, path, query or body, the answer is
// a success or a VirusTotal-style JSON error, never a 500, and the service keeps answering.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestService, type TestService } from './helpers/service.js';

const segments = ['api', 'v3', 'files', 'users', 'analyses', 'upload_url', 'upload', 'download', 'item', 'apikey', 'admin', '..', '%00', '%2F', 'a'.repeat(300)];

describe('API fuzzing', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService();
  });
  after(async () => s.stop());

  it('never answers 500 and always answers errors as JSON', async () => {
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'OPTIONS'),
      path: fc.array(fc.oneof(fc.constantFrom(...segments), fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 32, maxLength: 64 }), fc.string({ maxLength: 12 }).map(encodeURIComponent)), { minLength: 1, maxLength: 6 }),
      prefix: fc.boolean(),
      query: fc.array(fc.tuple(fc.constantFrom('limit', 'cursor', 'filter', 'order', 'relationships', 'x'), fc.string({ maxLength: 40 })), { maxLength: 4 }),
      key: fc.constantFrom('admin', 'none', 'wrong'),
      body: fc.oneof(fc.constant(undefined), fc.json(), fc.string({ maxLength: 200 }), fc.constant('--b\r\nContent-Disposition: form-data; name="file"\r\n\r\nx')),
      contentType: fc.constantFrom('application/json', 'multipart/form-data; boundary=b', 'text/plain', 'multipart/form-data', undefined),
    });
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const path = (r.prefix ? '/api/v3/' : '/') + r.path.join('/');
        const qs = new URLSearchParams(r.query).toString();
        const headers: Record<string, string> = {};
        if (r.key === 'admin') headers['x-apikey'] = s.adminKey;
        if (r.key === 'wrong') headers['x-apikey'] = 'nope';
        if (r.contentType && r.body !== undefined) headers['content-type'] = r.contentType;
        const hasBody = r.body !== undefined && !['GET', 'OPTIONS'].includes(r.method);
        const res = await fetch(`${s.url}${path}${qs ? `?${qs}` : ''}`, { method: r.method, headers, body: hasBody ? r.body : undefined });
        const text = await res.text();
        assert.ok(res.status < 500, `${r.method} ${path}?${qs} -> ${res.status} ${text.slice(0, 200)}`);
        if (res.status >= 400) {
          assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
          const body = JSON.parse(text);
          assert.equal(typeof body.error.code, 'string');
          assert.equal(typeof body.error.message, 'string');
        }
      }),
      { numRuns: 400 },
    );
    assert.equal((await fetch(`${s.url}/api/v3/users/admin`, { headers: { 'x-apikey': s.adminKey } })).status, 200);
  });
});
