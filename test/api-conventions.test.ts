// VirusTotal API conventions over real HTTP: errors, authentication, envelopes and pagination.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, isVtError, startTestService, type TestService } from './helpers/service.js';

describe('API conventions', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService();
  });
  after(async () => s.stop());

  it('answers unknown routes with 404 NotFoundError, also without a key', async () => {
    const r = await api(s.url, s.adminKey, 'GET', '/api/v3/no/such/thing');
    assert.ok(isVtError(r, 404, 'NotFoundError'), JSON.stringify(r.body));
    assert.ok(isVtError(await api(s.url, null, 'GET', '/api/nothing'), 404, 'NotFoundError'));
    // Other paths are the web app's pages when read (test/web-session.test.ts), errors otherwise.
    assert.ok(isVtError(await api(s.url, null, 'POST', '/nothing'), 404, 'NotFoundError'));
  });

  it('answers unsupported methods with a JSON error naming the allowed ones', async () => {
    const r = await api(s.url, s.adminKey, 'PUT', '/api/v3/files/upload_url');
    assert.ok(isVtError(r, 400, 'BadRequestError'), JSON.stringify(r.body));
    assert.match(r.headers.get('allow') ?? '', /GET/);
  });

  it('requires a valid x-apikey of an active user', async () => {
    assert.ok(isVtError(await api(s.url, null, 'GET', '/api/v3/users/admin'), 401, 'AuthenticationRequiredError'));
    assert.ok(isVtError(await api(s.url, 'f'.repeat(64), 'GET', '/api/v3/users/admin'), 401, 'WrongCredentialsError'));
    const created = await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'dora' } });
    assert.equal(created.status, 200);
    const key = created.body.data.attributes.apikey as string;
    assert.match(key, /^[0-9a-f]{64}$/);
    assert.equal((await api(s.url, key, 'GET', '/api/v3/users/dora')).status, 200);
    const off = await api(s.url, s.adminKey, 'PATCH', '/api/v3/users/dora', { data: { type: 'user', attributes: { status: 'disabled' } } });
    assert.equal(off.status, 200);
    assert.equal(off.body.data.attributes.status, 'disabled');
    assert.ok(isVtError(await api(s.url, key, 'GET', '/api/v3/users/dora'), 401, 'UserNotActiveError'));
  });

  it('shows owner-only attributes to the owner only, and finds users by API key', async () => {
    const created = await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'erin', attributes: { email: 'erin@example.org' } } });
    const key = created.body.data.attributes.apikey as string;
    const other = (await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'finn' } })).body.data.attributes.apikey as string;
    const own = await api(s.url, key, 'GET', `/api/v3/users/${key}`);
    assert.equal(own.status, 200);
    assert.equal(own.body.data.id, 'erin');
    assert.equal(own.body.data.attributes.apikey, key);
    assert.equal(own.body.data.attributes.email, 'erin@example.org');
    assert.equal(typeof own.body.data.attributes.user_since, 'number');
    assert.equal(own.body.data.links.self, `${s.url}/api/v3/users/erin`);
    const seen = await api(s.url, other, 'GET', '/api/v3/users/erin');
    assert.equal(seen.status, 200);
    assert.equal(seen.body.data.attributes.apikey, undefined);
    assert.equal(seen.body.data.attributes.email, undefined);
    assert.ok(isVtError(await api(s.url, other, 'GET', '/api/v3/users/nobody'), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, other, 'DELETE', '/api/v3/users/erin'), 403, 'ForbiddenError'));
  });

  it('admins rotate keys and delete users; the old key stops working', async () => {
    const created = await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'gus' } });
    const old = created.body.data.attributes.apikey as string;
    const rotated = await api(s.url, s.adminKey, 'POST', '/api/v3/users/gus/apikey');
    assert.equal(rotated.status, 200);
    const fresh = rotated.body.data.attributes.apikey as string;
    assert.notEqual(fresh, old);
    assert.ok(isVtError(await api(s.url, old, 'GET', '/api/v3/users/gus'), 401, 'WrongCredentialsError'));
    assert.equal((await api(s.url, fresh, 'GET', '/api/v3/users/gus')).status, 200);
    assert.ok(isVtError(await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'gus' } }), 409, 'AlreadyExistsError'));
    const del = await api(s.url, s.adminKey, 'DELETE', '/api/v3/users/gus');
    assert.equal(del.status, 200);
    assert.ok(isVtError(await api(s.url, fresh, 'GET', '/api/v3/users/gus'), 401, 'WrongCredentialsError'));
  });

  it('paginates with absolute links, opaque cursors and no empty page with a cursor', async () => {
    for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: n } });
    const total = (await api(s.url, s.adminKey, 'GET', '/api/v3/users?limit=1000')).body.data.length as number;
    const seen: string[] = [];
    let url: string | undefined = `${s.url}/api/v3/users?limit=2`;
    let pages = 0;
    while (url) {
      const r = await api(s.url, s.adminKey, 'GET', url);
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.body.data) && r.body.data.length > 0, 'no empty pages');
      assert.ok(r.body.links.self.startsWith(`${s.url}/api/v3/users?`));
      for (const u of r.body.data) seen.push(u.id);
      if (r.body.links.next) {
        assert.ok(r.body.links.next.startsWith('http'), 'next is absolute');
        assert.equal(new URL(r.body.links.next).searchParams.get('cursor'), r.body.meta.cursor);
        assert.equal(new URL(r.body.links.next).searchParams.get('limit'), '2');
      } else assert.equal(r.body.meta?.cursor, undefined);
      url = r.body.links.next;
      pages++;
    }
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total);
    assert.equal(pages, Math.ceil(total / 2));
  });

  it('defaults limit to 10 and refuses a bad limit or cursor', async () => {
    for (let i = 0; i < 12; i++) await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: `bulk${i}` } });
    assert.equal((await api(s.url, s.adminKey, 'GET', '/api/v3/users')).body.data.length, 10);
    for (const q of ['limit=abc', 'limit=-1', 'limit=0', 'limit=1.5', 'cursor=%%%', 'cursor=bm90LWpzb24', 'cursor=eyJhIjoxfQ']) {
      const r = await api(s.url, s.adminKey, 'GET', `/api/v3/users?${q}`);
      assert.ok(isVtError(r, 400, 'BadRequestError'), `${q}: ${JSON.stringify(r.body)}`);
    }
  });

  it('accepts an empty JSON body and refuses malformed JSON with BadRequestError', async () => {
    const r = await fetch(`${s.url}/api/v3/users`, { method: 'POST', headers: { 'x-apikey': s.adminKey, 'content-type': 'application/json' }, body: '{"data": ' });
    assert.equal(r.status, 400);
    assert.equal(((await r.json()) as any).error.code, 'BadRequestError');
    const empty = await fetch(`${s.url}/api/v3/users`, { method: 'POST', headers: { 'x-apikey': s.adminKey, 'content-type': 'application/json' } });
    assert.equal(empty.status, 400, 'an empty body reaches the handler, which explains what is missing');
    assert.equal(((await empty.json()) as any).error.code, 'BadRequestError');
  });
});

describe('public URL', () => {
  it('builds links from the configured public URL', async () => {
    const s = await startTestService({ publicUrl: 'https://trawl.example.org' });
    try {
      const r = await api(s.url, s.adminKey, 'GET', '/api/v3/files/upload_url');
      assert.match(r.body.data, /^https:\/\/trawl\.example\.org\/api\/v3\/files\/upload\/[A-Za-z0-9_-]+$/);
    } finally {
      await s.stop();
    }
  });
});
