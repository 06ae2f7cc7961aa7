// Property tests (fast-check) over the IoC Stream's filter grammar and cursors, against a real
// service holding two users' notifications: malformed, huge, unicode, injected SQL, repeated keys,
// contradictory windows. Never a 500; a 400 is a VirusTotal-style error; a 200 never carries
// another user's notification, and agrees with the same filter evaluated here.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseStreamFilter } from '../src/stream/ioc-stream-filter.js';
import { api, fileForm, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const KEYS = ['date', 'origin', 'entity_id', 'entity_type', 'source_type', 'source_id', 'notification_tag', 'tag', 'DATE', 'owner', 'x', ''];
const VALUES = [
  'hunting', 'subscriptions', 'file', 'url', 'hunting_ruleset', 'collection', '2024-01-01', '2024-01-01+', '2099-12-31-',
  '1700000000+', '0', '-1', "' OR 1=1 --", '"; DROP TABLE hunting_notifications; --', '%', '_', '*', '\u0000', 'ü\u00e9\u{1F600}',
  'a'.repeat(5000), '9'.repeat(40), 'fuzz_rule', 'FUZZ_RULE',
];

describe('IoC Stream properties', () => {
  let s: TestService;
  let keys: Record<string, string>;
  const owned = new Map<string, string>(); // notification id -> owner

  before(async () => {
    s = await startTestService();
    keys = { carol: await newUser(s, 'carol'), dave: await newUser(s, 'dave') };
    for (const [user, key] of Object.entries(keys)) {
      await api(s.url, key, 'POST', '/api/v3/intelligence/hunting_rulesets', {
        data: { type: 'hunting_ruleset', attributes: { name: `${user}_fuzz`, enabled: true, rules: 'rule fuzz_rule { strings: $a = "FUZZ-MARK" condition: $a }' } },
      });
    }
    for (let i = 0; i < 6; i++) {
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(Buffer.from(`FUZZ-MARK ${i} ${randomBytes(6).toString('hex')}`)));
      await waitForAnalysis(s.url, s.adminKey, r.body.data.id);
    }
    for (const [user, key] of Object.entries(keys)) {
      for (const d of (await api(s.url, key, 'GET', '/api/v3/ioc_stream?limit=40')).body.data) owned.set(d.context_attributes.notification_id, user);
    }
    assert.equal(owned.size, 12);
  });
  after(async () => s.stop());

  const term = fc.oneof(
    fc.tuple(fc.constantFrom(...KEYS), fc.oneof(fc.constantFrom(...VALUES), fc.string({ maxLength: 30 }), fc.string({ unit: 'grapheme', maxLength: 10 })))
      .map(([k, v]) => (k ? `${k}:${v}` : v)),
    fc.string({ maxLength: 40 }),
  );
  const filter = fc.tuple(fc.array(term, { maxLength: 5 }), fc.constantFrom(' ', '  ', '\t')).map(([t, sep]) => t.join(sep));
  const cursor = fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 60 }),
    fc.record({ date: fc.integer(), id: fc.integer() }).map((v) => Buffer.from(JSON.stringify(v)).toString('base64url')),
    fc.json().map((j) => Buffer.from(j).toString('base64url')),
  );

  it('answers every filter, order and cursor without a 500 and without leaking', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('carol', 'dave'), filter, cursor, fc.constantFrom(undefined, 'date-', 'date+', 'bogus'), fc.constantFrom(undefined, '1', '40', '0', 'x'), async (user, f, c, order, limit) => {
        const qs = new URLSearchParams();
        qs.set('filter', f);
        if (c !== undefined) qs.set('cursor', c);
        if (order !== undefined) qs.set('order', order);
        if (limit !== undefined) qs.set('limit', limit);
        const r = await api(s.url, keys[user]!, 'GET', `/api/v3/ioc_stream?${qs}`);
        assert.ok(r.status === 200 || r.status === 400, `${r.status} for ${qs}: ${JSON.stringify(r.body).slice(0, 300)}`);
        let parsed: ReturnType<typeof parseStreamFilter> | null = null;
        try {
          parsed = parseStreamFilter(f);
        } catch {
          parsed = null;
        }
        if (r.status === 400) {
          assert.equal(r.body.error.code, 'BadRequestError');
          assert.equal(typeof r.body.error.message, 'string');
          return;
        }
        assert.ok(parsed, `the service accepted a filter the grammar refuses: ${JSON.stringify(f)}`);
        for (const d of r.body.data) assert.equal(owned.get(d.context_attributes.notification_id), user, `leak through ${qs}`);
        if (parsed.none) assert.equal(r.body.data.length, 0);
        assert.ok(r.body.data.length > 0 || !r.body.meta?.cursor, 'never an empty page with a cursor');
      }),
      { numRuns: 300 },
    );
  });

  it('deletes by any filter without touching another user', async () => {
    await fc.assert(
      fc.asyncProperty(filter, async (f) => {
        const r = await api(s.url, keys.dave!, 'DELETE', `/api/v3/ioc_stream?filter=${encodeURIComponent(f)}`);
        assert.ok([200, 400, 429].includes(r.status), `${r.status}: ${JSON.stringify(r.body)}`);
      }),
      { numRuns: 60 },
    );
    const until = Date.now() + 15_000;
    while (Date.now() < until && (await api(s.url, keys.dave!, 'DELETE', '/api/v3/ioc_stream?filter=tag:no_such_tag')).status === 429) await new Promise((r) => setTimeout(r, 100));
    const carol = (await api(s.url, keys.carol!, 'GET', '/api/v3/ioc_stream?limit=40')).body.data;
    assert.equal(carol.length, 6, "carol's notifications are all there");
  });
});
