// Every registered route, walked as every kind of caller: no key, a wrong key, a disabled user,
// another user, an editor of the owner's ruleset, and the owner. The route list comes from the
// running API, so a new route is covered without new code here. Asserted: the refusals of the
// first three, that another user neither reads nor changes anything of the owner's (no secret of
// the owner's appears in any answer, the owner's objects are intact after), what an editor may do,
// and that the owner reads everything. The one exception: the probes (health, readiness, metrics;
// api/routes/probes.ts PUBLIC_ROUTES), which load balancers and scrapers call without a key; they
// are checked to need none and to show nothing of any user's.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { PUBLIC_ROUTES } from '../src/api/routes/probes.js';
import { WEB_APP_ROUTES } from '../src/api/routes/web-app.js';
import { api, fileForm, isVtError, newUser, pollUntil, startTestService, waitForAnalysis, type JsonResponse, type TestService } from './helpers/service.js';

const SECRET = randomBytes(6).toString('hex');
const RULESET_NAME = `alice_secret_${SECRET}`;
const RULE_NAME = `alice_rule_${SECRET}`;
/** In the owner's file (files are shared by all users, as on VirusTotal) and in her rules. */
const MARK = `ALICE-MARK-${randomBytes(6).toString('hex')}`;

describe('authorization over every route', () => {
  let s: TestService;
  const key: Record<string, string> = {};
  const ids: Record<string, string> = {};

  before(async () => {
    s = await startTestService();
    for (const u of ['alice', 'ed', 'mallory', 'dora']) key[u] = await newUser(s, u);
    const r = await api(s.url, key.alice!, 'POST', '/api/v3/intelligence/hunting_rulesets', {
      data: { type: 'hunting_ruleset', attributes: { name: RULESET_NAME, enabled: true, rules: `rule ${RULE_NAME} { meta: note = "${SECRET}" strings: $a = "${MARK}" condition: $a }` } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    ids.ruleset = r.body.data.id;
    assert.equal((await api(s.url, key.alice!, 'POST', `/api/v3/intelligence/hunting_rulesets/${ids.ruleset}/relationships/editors`, { data: [{ type: 'user', id: 'ed' }] })).status, 200);
    const content = `${MARK} ${randomBytes(8).toString('hex')}`;
    const up = await api(s.url, key.alice!, 'POST', '/api/v3/files', fileForm(content));
    ids.analysis = up.body.data.id;
    await waitForAnalysis(s.url, key.alice!, ids.analysis!);
    ids.file = createHash('sha256').update(content).digest('hex');
    const n = await api(s.url, key.alice!, 'GET', `/api/v3/intelligence/hunting_notifications?filter=tag:${RULE_NAME}`);
    ids.notification = n.body.data[0].id;
    const rh = await api(s.url, key.alice!, 'POST', '/api/v3/intelligence/retrohunt_jobs', {
      data: { type: 'retrohunt_job', attributes: { rules: `rule ${RULE_NAME} { meta: note = "${SECRET}" strings: $a = "${MARK}" condition: $a }` } },
    });
    assert.equal(rh.status, 200, JSON.stringify(rh.body));
    ids.retrohunt = rh.body.data.id;
    // Its password is a secret no answer to anyone may show (the owner's included: it is never serialized).
    const zip = await api(s.url, key.alice!, 'POST', '/api/v3/intelligence/zip_files', { data: { hashes: [ids.file], password: SECRET } });
    assert.equal(zip.status, 200, JSON.stringify(zip.body));
    ids.zip = zip.body.data.id;
    await pollUntil('zip file', () => api(s.url, key.alice!, 'GET', `/api/v3/intelligence/zip_files/${ids.zip}`), (r) => r.body.data.attributes.status === 'finished', 30_000);
    ids.token = new URL((await api(s.url, key.alice!, 'GET', '/api/v3/files/upload_url')).body.data).pathname.split('/').pop()!;
    const found = await api(s.url, key.alice!, 'GET', `/api/v3/intelligence/search?query=${encodeURIComponent(`content:"${MARK}"`)}`);
    assert.equal(found.body.data?.[0]?.id, ids.file, JSON.stringify(found.body));
    ids.snippet = found.body.data[0].context_attributes.snippet;
    assert.equal((await api(s.url, s.adminKey, 'PATCH', '/api/v3/users/dora', { data: { type: 'user', attributes: { status: 'disabled' } } })).status, 200);
    // A group of hers (spec 7.2), which only its members see.
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups', { data: { type: 'group', id: 'alices-team' } })).status, 200);
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups/alices-team/relationships/users', { data: [{ type: 'user', id: 'alice' }] })).status, 200);
  });
  after(async () => s.stop());

  /** Every route but the probes and the web app's own (its page, assets and sign-in: test/web-session.test.ts). */
  const guarded = () => s.routes.filter((r) => !PUBLIC_ROUTES.includes(r.url) && !WEB_APP_ROUTES.includes(r.url));

  /** A route's path with the owner's objects in it. */
  const fill = (url: string) =>
    url
      .replace(/^\/api\/v3\/files\/:id/, `/api/v3/files/${ids.file}`)
      .replace('/analyses/:id', `/analyses/${ids.analysis}`)
      .replace('/users/:id', '/users/alice')
      .replace('/groups/:id', '/groups/alices-team')
      .replace('/hunting_rulesets/:id', `/hunting_rulesets/${ids.ruleset}`)
      .replace('/hunting_notifications/:id', `/hunting_notifications/${ids.notification}`)
      .replace('/retrohunt_jobs/:id', `/retrohunt_jobs/${ids.retrohunt}`)
      .replace('/zip_files/:id', `/zip_files/${ids.zip}`)
      .replace('/ioc_stream_notifications/:id', `/ioc_stream_notifications/${ids.notification}`)
      .replace(/\/intelligence\/search$/, `/intelligence/search?query=${encodeURIComponent(`content:"${MARK}"`)}`)
      .replace('/search/snippets/:id', `/search/snippets/${ids.snippet}`)
      .replace(':token', ids.token!)
      .replace(':user', 'ed');

  /**
   * Routes on one of the owner's objects, which nobody else may read or change. A user's own
   * object is the exception: like VirusTotal, Trawl shows anyone a user's public profile.
   */
  const ownersOnly = (method: string, url: string) =>
    !(method === 'GET' && url === '/api/v3/users/:id') && /\/(hunting_rulesets|hunting_notifications|ioc_stream_notifications|retrohunt_jobs|zip_files|users|groups)\/:id|:token/.test(url);

  const call = (who: string | null, method: string, url: string): Promise<JsonResponse> => {
    const path = fill(url);
    const headers: Record<string, string> = method === 'DELETE' ? { 'x-confirm-delete': who ?? '' } : {};
    if (method === 'POST' && /\/files(\/upload\/[^/]+)?$/.test(path)) return api(s.url, who, method, path, fileForm(randomBytes(64)));
    // Well-formed enough to reach the authorization check: a user for relationships, else an object.
    const body = method === 'POST' && /relationships\/(owner|editors)$/.test(url) ? { data: url.endsWith('owner') ? { type: 'user', id: who === key.ed ? 'ed' : 'mallory' } : [{ type: 'user', id: 'mallory' }] }
      : method === 'POST' || method === 'PATCH' ? { data: { type: 'hunting_ruleset', id: 'ed', attributes: {} } } : undefined;
    return api(s.url, who, method, path, body, headers);
  };

  const leaks = (r: JsonResponse) => {
    const text = JSON.stringify(r.body) ?? '';
    return [RULESET_NAME, RULE_NAME, SECRET, key.alice!, ids.token!].filter((x) => text.includes(x));
  };

  it('refuses a missing key, a wrong key and a disabled user on every route', async () => {
    assert.ok(guarded().length > 50, `routes: ${guarded().length}`);
    for (const r of guarded()) {
      const label = `${r.method} ${r.url}`;
      assert.ok(isVtError(await call(null, r.method, r.url), 401, 'AuthenticationRequiredError'), `${label}: no key`);
      assert.ok(isVtError(await call('wrong-key', r.method, r.url), 401, 'WrongCredentialsError'), `${label}: wrong key`);
      assert.ok(isVtError(await call(key.dora!, r.method, r.url), 401, 'UserNotActiveError'), `${label}: disabled user`);
    }
  });

  it('answers the probes without a key, and they show nothing of any user\'s', async () => {
    const probes = s.routes.filter((r) => PUBLIC_ROUTES.includes(r.url));
    assert.deepEqual(probes.map((r) => `${r.method} ${r.url}`).sort(), PUBLIC_ROUTES.map((u) => `GET ${u}`).sort());
    for (const r of probes) {
      const res = await call(null, r.method, r.url);
      assert.equal(res.status, 200, `${r.url}: ${JSON.stringify(res.body)}`);
      assert.deepEqual(leaks(res), [], `${r.url}: the owner's secrets in the answer`);
    }
  });

  it("lets another user neither read nor change anything of the owner's", async () => {
    for (const r of guarded()) {
      const label = `${r.method} ${r.url}`;
      const res = await call(key.mallory!, r.method, r.url);
      assert.ok(res.status < 500, `${label}: ${res.status}`);
      assert.deepEqual(leaks(res), [], `${label}: the owner's secrets in the answer`);
      if (ownersOnly(r.method, r.url)) assert.ok(res.status >= 400, `${label}: ${res.status} for another user`);
    }
    // Everything of the owner's is intact.
    const rs = await api(s.url, key.alice!, 'GET', `/api/v3/intelligence/hunting_rulesets/${ids.ruleset}`);
    assert.equal(rs.body.data.attributes.name, RULESET_NAME);
    assert.match(rs.body.data.attributes.rules, new RegExp(SECRET));
    assert.equal((await api(s.url, key.alice!, 'GET', `/api/v3/intelligence/hunting_rulesets/${ids.ruleset}/relationships/editors/ed`)).body.data, true);
    assert.equal((await api(s.url, key.alice!, 'GET', `/api/v3/intelligence/hunting_notifications/${ids.notification}`)).status, 200);
    assert.equal((await api(s.url, key.alice!, 'GET', '/api/v3/users/alice')).status, 200);
  });

  it("lets an editor read the shared ruleset and its notifications, but not delete it nor see the owner's key", async () => {
    for (const r of s.routes.filter((x) => x.method === 'GET' && /hunting_(rulesets|notifications)\/:id/.test(x.url))) {
      const res = await call(key.ed!, r.method, r.url);
      assert.equal(res.status, 200, `GET ${r.url}: ${JSON.stringify(res.body).slice(0, 200)}`);
      assert.ok(!JSON.stringify(res.body).includes(key.alice!));
    }
    const del = await call(key.ed!, 'DELETE', '/api/v3/intelligence/hunting_rulesets/:id');
    assert.ok(isVtError(del, 403, 'ForbiddenError'), JSON.stringify(del.body));
    const own = await call(key.ed!, 'POST', '/api/v3/intelligence/hunting_rulesets/:id/relationships/owner');
    assert.ok(isVtError(own, 403, 'ForbiddenError'), JSON.stringify(own.body));
  });

  it('lets the owner read everything of hers (administration aside)', async () => {
    const failed: string[] = [];
    // Listing users and groups, and a group's usage, are for administrators (of Trawl, of the group).
    const administration = ['/api/v3/users', '/api/v3/groups', '/api/v3/groups/:id/api_usage'];
    for (const r of guarded().filter((x) => x.method === 'GET' && !administration.includes(x.url))) {
      const res = await call(key.alice!, r.method, r.url);
      if (res.status !== 200) failed.push(`GET ${r.url}: ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`);
    }
    assert.deepEqual(failed, []);
    assert.ok(isVtError(await call(key.alice!, 'GET', '/api/v3/users'), 403, 'ForbiddenError'), 'listing users is for administrators');
    assert.ok(isVtError(await call(key.alice!, 'GET', '/api/v3/groups'), 403, 'ForbiddenError'), 'listing groups is for administrators');
    // The upload URL survived every other caller's attempt.
    assert.equal((await call(key.alice!, 'POST', '/api/v3/files/upload/:token')).status, 200);
  });
});
