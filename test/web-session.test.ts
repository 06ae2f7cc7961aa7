// The web app's server side over real HTTP: its page and assets (cache headers, gzip, page paths
// answered with index.html while the API keeps its JSON errors), signing in with an API key for an
// HttpOnly SameSite=Strict cookie, CSRF refusals of cookie requests, sessions ended by a key
// rotation or a disabled user, the editor's validation endpoint, and the member a notification
// matched in (for the File page's tree).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { api, fileForm, isVtError, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { makeZip } from './helpers/archives.js';
import { WEB_APP_DIR } from '../src/api/routes/web-app.js';

const built = existsSync(new URL('index.html', WEB_APP_DIR));

describe('web app: page, sessions, CSRF, validation', () => {
  let s: TestService;
  let aliceKey: string;
  before(async () => {
    s = await startTestService();
    aliceKey = await newUser(s, 'alice');
  });
  after(async () => s?.stop());

  const signIn = async (apikey: string, headers: Record<string, string> = {}) => {
    const r = await api(s.url, null, 'POST', '/ui/session', { apikey }, headers);
    return { ...r, cookie: r.headers.get('set-cookie') ?? '' };
  };
  const withCookie = (cookie: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    api(s.url, null, method, path, body, { cookie: cookie.split(';')[0]!, ...headers });

  it('serves the app at / and at page paths, assets with long caching, and API errors as JSON', { skip: !built && 'web app not built (make build)' }, async () => {
    const index = await fetch(`${s.url}/`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(index.status, 200);
    assert.match(index.headers.get('content-type')!, /text\/html/);
    assert.equal(index.headers.get('cache-control'), 'no-cache');
    assert.match(index.headers.get('content-security-policy')!, /default-src 'self'/);
    const html = await index.text();
    const js = /src="(\/assets\/app-[\w-]+\.js)"/.exec(html)?.[1];
    assert.ok(js, html);
    // A page path the app routes itself gets the same page; the API and assets do not.
    const deep = await fetch(`${s.url}/files/${'a'.repeat(64)}`);
    assert.equal(deep.status, 200);
    assert.equal(await deep.text(), html);
    const asset = await fetch(`${s.url}${js}`, { headers: { 'accept-encoding': 'gzip' } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(asset.headers.get('content-encoding'), 'gzip');
    const again = await fetch(`${s.url}${js}`, { headers: { 'if-none-match': asset.headers.get('etag')! } });
    assert.equal(again.status, 304);
    assert.ok(isVtError(await api(s.url, null, 'GET', '/assets/nope.js'), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, null, 'GET', '/api/v3/nope'), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, null, 'GET', '/api/v3/intelligence/hunting_rulesets'), 401, 'AuthenticationRequiredError'));
  });

  it('trades an API key for an HttpOnly SameSite=Strict cookie that authenticates API calls', async () => {
    assert.ok(isVtError(await signIn('0'.repeat(64)), 401, 'WrongCredentialsError'));
    assert.equal((await signIn('')).status, 400);
    const r = await signIn(aliceKey);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.match(r.cookie, /^trawl_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.ok(!r.cookie.includes(aliceKey), 'the key is not in the cookie');
    assert.equal(r.body.data.attributes.username, 'alice');
    const csrf = r.body.data.attributes.csrf_token as string;

    const me = await withCookie(r.cookie, 'GET', '/ui/session');
    assert.equal(me.body.data.attributes.csrf_token, csrf);
    assert.deepEqual((await api(s.url, null, 'GET', '/ui/session')).body, { data: null });
    // Reads work with the cookie alone; the user's own object shows no key (the browser has none).
    const user = await withCookie(r.cookie, 'GET', '/api/v3/users/alice');
    assert.equal(user.status, 200);
    assert.equal(user.body.data.attributes.apikey, undefined);
    assert.equal((await withCookie(r.cookie, 'GET', '/api/v3/intelligence/hunting_rulesets')).status, 200);
    // An API key still wins over any cookie: API clients are unchanged.
    const admin = await api(s.url, s.adminKey, 'GET', '/api/v3/users/admin', undefined, { cookie: r.cookie.split(';')[0]! });
    assert.equal(admin.body.data.attributes.apikey, s.adminKey);
    // A forged cookie is refused.
    const forged = r.cookie.replace(/^trawl_session=(\d+)/, 'trawl_session=1');
    assert.ok(isVtError(await withCookie(forged, 'GET', '/api/v3/intelligence/hunting_rulesets'), 401, 'WrongCredentialsError'));
  });

  it('refuses cookie requests that change state without the CSRF token or from another origin', async () => {
    const r = await signIn(aliceKey);
    const csrf = r.body.data.attributes.csrf_token as string;
    const body = { data: { type: 'hunting_ruleset', attributes: { name: 'csrf', rules: 'rule csrf_probe { condition: true }' } } };
    assert.ok(isVtError(await withCookie(r.cookie, 'POST', '/api/v3/intelligence/hunting_rulesets', body), 403, 'ForbiddenError'));
    assert.ok(isVtError(await withCookie(r.cookie, 'POST', '/api/v3/intelligence/hunting_rulesets', body, { 'x-csrf-token': 'x'.repeat(43) }), 403, 'ForbiddenError'));
    assert.ok(isVtError(await withCookie(r.cookie, 'POST', '/api/v3/intelligence/hunting_rulesets', body, { 'x-csrf-token': csrf, origin: 'https://evil.example' }), 403, 'ForbiddenError'));
    assert.equal((await api(s.url, aliceKey, 'GET', '/api/v3/intelligence/hunting_rulesets')).body.data.length, 0, 'nothing was created');
    assert.ok(isVtError(await signIn(aliceKey, { origin: 'https://evil.example' }), 403, 'ForbiddenError'));
    const ok = await withCookie(r.cookie, 'POST', '/api/v3/intelligence/hunting_rulesets', body, { 'x-csrf-token': csrf, origin: s.url });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('ends sessions when the key is rotated or the user disabled, and on sign out', async () => {
    const bob = await newUser(s, 'bob');
    const first = await signIn(bob);
    assert.equal((await withCookie(first.cookie, 'GET', '/api/v3/users/bob')).status, 200);
    const rotated = await api(s.url, bob, 'POST', '/api/v3/users/bob/apikey');
    assert.equal(rotated.status, 200);
    assert.ok(isVtError(await withCookie(first.cookie, 'GET', '/api/v3/users/bob'), 401, 'WrongCredentialsError'));
    const second = await signIn(rotated.body.data.attributes.apikey);
    assert.equal((await withCookie(second.cookie, 'GET', '/api/v3/users/bob')).status, 200);
    assert.equal((await api(s.url, s.adminKey, 'PATCH', '/api/v3/users/bob', { data: { attributes: { status: 'disabled' } } })).status, 200);
    assert.ok(isVtError(await withCookie(second.cookie, 'GET', '/api/v3/users/bob'), 401, 'UserNotActiveError'));
    assert.ok(isVtError(await signIn(rotated.body.data.attributes.apikey), 401, 'UserNotActiveError'));

    const out = await fetch(`${s.url}/ui/session`, { method: 'DELETE' });
    assert.match(out.headers.get('set-cookie')!, /^trawl_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0$/);
  });

  it('tells the editor every problem with its line and column, slow patterns and slow rulesets included', async () => {
    const validate = async (rules: unknown) => api(s.url, aliceKey, 'POST', '/api/v3/intelligence/hunting_rulesets/validate', { data: { type: 'hunting_ruleset', attributes: { rules } } });
    const good = await validate('rule fine { strings: $a = "hello world" condition: $a }');
    assert.deepEqual(good.body.data, { valid: true, rule_names: ['fine'], diagnostics: [] });
    const bad = (await validate('rule broken {\n  strings:\n    $a = "hello world"\n  condition:\n    $a and nosuch\n}')).body.data;
    assert.equal(bad.valid, false);
    assert.deepEqual(bad.diagnostics.map((d: any) => [d.code, d.severity, d.line, d.column]), [['E009', 'error', 5, 12]]);
    assert.match(bad.diagnostics[0].message, /unknown identifier `nosuch`/);
    const slowPattern = (await validate('rule slow {\n  strings:\n    $a = "x"\n  condition:\n    $a\n}')).body.data;
    assert.deepEqual(slowPattern.diagnostics.map((d: any) => [d.code, d.line, d.column]), [['E018', 3, 5]]);
    const slowLoop = (await validate('rule loop {\n  condition:\n    for all i in (0..filesize) : (for all j in (0..filesize) : (uint8(i) != uint8(j) or true))\n}')).body.data;
    assert.equal(slowLoop.valid, false);
    assert.ok(slowLoop.diagnostics.some((d: any) => d.code === 'too_slow' && d.severity === 'error'), JSON.stringify(slowLoop));
    assert.ok(slowLoop.diagnostics.some((d: any) => d.code === 'potentially_slow_loop' && d.severity === 'warning' && d.line === 3));
    const include = (await validate('rule a { condition: true }\ninclude "x.yar"')).body.data;
    assert.deepEqual(include.diagnostics.map((d: any) => [d.code, d.line]), [['include', 2]]);
    assert.ok(isVtError(await validate(42), 400, 'InvalidArgumentError'));
    assert.ok(isVtError(await api(s.url, null, 'POST', '/api/v3/intelligence/hunting_rulesets/validate', {}), 401, 'AuthenticationRequiredError'));
  });

  it('finds the member, at any depth, whose bytes a notification matched, for its owner only', async () => {
    const carol = await newUser(s, 'carol');
    const marker = 'MEMBER-MATCH-5c1e';
    const rules = `rule member_marker { strings: $a = "${marker}" condition: $a }\nrule any_zip { condition: uint16(0) == 0x4b50 }`;
    const created = await api(s.url, carol, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'members', rules, enabled: true } } });
    assert.equal(created.status, 200, JSON.stringify(created.body));
    const member = `some text ${marker} more text\n`;
    const inner = makeZip({ 'payload/dropper.txt': member, 'payload/other.txt': 'nothing here\n' });
    const outer = makeZip({ 'readme.txt': 'hello\n', 'inner.zip': inner });
    const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
    const up = await api(s.url, carol, 'POST', '/api/v3/files', fileForm(outer, 'outer.zip'));
    await waitForAnalysis(s.url, carol, up.body.data.id);
    const list = await pollUntil('two notifications', () => api(s.url, carol, 'GET', '/api/v3/intelligence/hunting_notifications'), (r) => r.body.data?.length === 2, 20_000);
    const byRule = new Map(list.body.data.map((n: any) => [n.attributes.rule_name, n.id]));

    const found = await api(s.url, carol, 'GET', `/api/v3/intelligence/hunting_notifications/${byRule.get('member_marker')}/matched_subfiles`);
    assert.equal(found.status, 200, JSON.stringify(found.body));
    assert.deepEqual(found.body.data, [{ type: 'file', id: sha(member), context_attributes: { parent: sha(inner), name: 'payload/dropper.txt', via: [sha(inner)] } }]);
    assert.equal(found.body.meta.truncated, false);
    assert.ok(found.body.meta.searched >= 4, JSON.stringify(found.body.meta));
    // A rule that matched on its condition alone (on the submitted file itself) names no member.
    const none = await api(s.url, carol, 'GET', `/api/v3/intelligence/hunting_notifications/${byRule.get('any_zip')}/matched_subfiles`);
    assert.deepEqual(none.body.data, []);
    // Nobody else learns anything of it.
    assert.ok(isVtError(await api(s.url, aliceKey, 'GET', `/api/v3/intelligence/hunting_notifications/${byRule.get('member_marker')}/matched_subfiles`), 404, 'NotFoundError'));
  });
});
