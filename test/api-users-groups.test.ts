// Users and groups over real HTTP (spec 7.1, 7.2): looking users up by name, API key and e-mail,
// the group relationships vt-cli's `user` asks for, group objects and their members, and what
// members share: rulesets shared with the group, and each other's Retrohunt jobs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, isVtError, newUser, startTestService, type TestService } from './helpers/service.js';

const RULES = 'rule team_rule { strings: $a = "team-marker" condition: $a }';

describe('users and groups', () => {
  let s: TestService;
  const key: Record<string, string> = {};
  const admin = (method: string, path: string, body?: unknown) => api(s.url, s.adminKey, method, path, body);

  before(async () => {
    s = await startTestService();
    for (const u of ['ann', 'ben', 'cat']) key[u] = await newUser(s, u);
    assert.equal((await admin('PATCH', '/api/v3/users/ann', { data: { attributes: { email: 'ann@example.org' } } })).status, 200);
    assert.equal((await admin('POST', '/api/v3/groups', { data: { type: 'group', id: 'red' } })).status, 200);
    assert.equal((await admin('POST', '/api/v3/groups/red/relationships/users', { data: [{ type: 'user', id: 'ann' }, { type: 'user', id: 'ben' }] })).status, 200);
    assert.equal((await admin('POST', '/api/v3/groups/red/relationships/administrators', { data: [{ type: 'user', id: 'ann' }] })).status, 200);
  });
  after(async () => s.stop());

  it('finds a user by their own API key only: another key is not found, like a wrong one', async () => {
    const own = await api(s.url, key.ann!, 'GET', `/api/v3/users/${key.ann}`);
    assert.equal(own.status, 200);
    assert.equal(own.body.data.id, 'ann');
    const other = await api(s.url, key.ann!, 'GET', `/api/v3/users/${key.ben}`);
    const unknown = await api(s.url, key.ann!, 'GET', `/api/v3/users/${'0'.repeat(64)}`);
    assert.ok(isVtError(other, 404, 'NotFoundError'));
    assert.ok(isVtError(unknown, 404, 'NotFoundError'));
    assert.equal(other.body.error.message.replace(key.ben!, 'K'), unknown.body.error.message.replace('0'.repeat(64), 'K'), 'no hint that the key exists');
    assert.ok(isVtError(await admin('GET', `/api/v3/users/${key.ben}`), 404, 'NotFoundError'), 'not even for administrators');
  });

  it('finds a user by e-mail for administrators only', async () => {
    const r = await admin('GET', '/api/v3/users/ann@example.org');
    assert.equal(r.status, 200);
    assert.equal(r.body.data.id, 'ann');
    assert.ok(isVtError(await admin('GET', '/api/v3/users/nobody@example.org'), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, key.ben!, 'GET', '/api/v3/users/ann@example.org'), 403, 'ForbiddenError'));
    assert.ok(isVtError(await api(s.url, key.ben!, 'GET', '/api/v3/users/nobody@example.org'), 403, 'ForbiddenError'), 'the same refusal whether or not it exists');
  });

  it("answers vt-cli's `user` request with the relationships the caller may see", async () => {
    const q = '?relationships=groups,api_quota_group,intelligence_quota_group,monitor_quota_group';
    const own = await api(s.url, key.ben!, 'GET', `/api/v3/users/${key.ben}${q}`);
    assert.equal(own.status, 200);
    const rel = own.body.data.relationships;
    assert.deepEqual(rel.groups.data, [{ type: 'group', id: 'red' }]);
    assert.equal(rel.groups.meta.count, 1);
    assert.deepEqual(rel.api_quota_group.data, { type: 'group', id: 'red' });
    assert.deepEqual(rel.intelligence_quota_group.data, { type: 'group', id: 'red' });
    assert.equal(rel.monitor_quota_group.data, null);
    // The group's administrator sees ben's quota groups but not his groups; a stranger sees none.
    const byAdmin = await api(s.url, key.ann!, 'GET', `/api/v3/users/ben${q}`);
    assert.deepEqual(Object.keys(byAdmin.body.data.relationships).sort(), ['api_quota_group', 'intelligence_quota_group', 'monitor_quota_group']);
    const byStranger = await api(s.url, key.cat!, 'GET', `/api/v3/users/ben${q}`);
    assert.deepEqual(byStranger.body.data.relationships, {});
    // A user in no group.
    const cat = await api(s.url, key.cat!, 'GET', `/api/v3/users/cat${q}`);
    assert.deepEqual(cat.body.data.relationships.groups.data, []);
    assert.equal(cat.body.data.relationships.api_quota_group.data, null);
    // The relationship endpoints themselves.
    const groups = await api(s.url, key.ben!, 'GET', '/api/v3/users/ben/groups');
    assert.equal(groups.body.data[0].type, 'group');
    assert.equal(groups.body.data[0].id, 'red');
    assert.deepEqual((await api(s.url, key.ben!, 'GET', '/api/v3/users/ben/relationships/api_quota_group')).body.data, { type: 'group', id: 'red' });
    assert.ok(isVtError(await api(s.url, key.cat!, 'GET', '/api/v3/users/ben/groups'), 403, 'ForbiddenError'));
  });

  it('shows a group and its members to members and administrators only', async () => {
    const g = await api(s.url, key.ben!, 'GET', '/api/v3/groups/red');
    assert.equal(g.status, 200);
    assert.equal(g.body.data.type, 'group');
    assert.equal(g.body.data.id, 'red');
    const users = await api(s.url, key.ben!, 'GET', '/api/v3/groups/red/relationships/users');
    assert.deepEqual(users.body.data, [{ type: 'user', id: 'ann' }, { type: 'user', id: 'ben' }]);
    assert.deepEqual((await api(s.url, key.ben!, 'GET', '/api/v3/groups/red/administrators')).body.data.map((u: any) => u.id), ['ann']);
    assert.equal((await api(s.url, key.ben!, 'GET', '/api/v3/groups/red/relationships/users/ann')).body.data, true);
    assert.ok(isVtError(await api(s.url, key.cat!, 'GET', '/api/v3/groups/red'), 404, 'NotFoundError'), 'a stranger is told it does not exist');
    assert.ok(isVtError(await api(s.url, key.cat!, 'GET', '/api/v3/groups/nope'), 404, 'NotFoundError'));
    // Members are changed by the group's administrators and Trawl's, not by other members.
    assert.ok(isVtError(await api(s.url, key.ben!, 'POST', '/api/v3/groups/red/relationships/users', { data: [{ type: 'user', id: 'cat' }] }), 403, 'ForbiddenError'));
    assert.ok(isVtError(await api(s.url, key.cat!, 'POST', '/api/v3/groups', { data: { type: 'group', id: 'mine' } }), 403, 'ForbiddenError'));
    assert.equal((await api(s.url, key.ann!, 'POST', '/api/v3/groups/red/relationships/users', { data: [{ type: 'user', id: 'cat' }] })).status, 200);
    assert.equal((await api(s.url, key.cat!, 'GET', '/api/v3/groups/red')).status, 200);
    assert.equal((await api(s.url, key.cat!, 'DELETE', '/api/v3/groups/red/relationships/users/cat')).status, 200, 'a member leaves');
    assert.ok(isVtError(await api(s.url, key.cat!, 'GET', '/api/v3/groups/red'), 404, 'NotFoundError'));
  });

  it('lets members edit a ruleset shared with their group, until it is unshared', async () => {
    const r = await api(s.url, key.ann!, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'team', rules: RULES } } });
    const id = r.body.data.id;
    assert.ok(isVtError(await api(s.url, key.ben!, 'GET', `/api/v3/intelligence/hunting_rulesets/${id}`), 404, 'NotFoundError'));
    assert.equal((await api(s.url, key.ann!, 'POST', `/api/v3/intelligence/hunting_rulesets/${id}/relationships/editors`, { data: [{ type: 'group', id: 'red' }] })).status, 200);
    const editors = await api(s.url, key.ann!, 'GET', `/api/v3/intelligence/hunting_rulesets/${id}?relationships=editors`);
    assert.deepEqual(editors.body.data.relationships.editors.data, [{ type: 'group', id: 'red' }]);
    const patched = await api(s.url, key.ben!, 'PATCH', `/api/v3/intelligence/hunting_rulesets/${id}`, { data: { type: 'hunting_ruleset', attributes: { limit: 42 } } });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.equal(patched.body.data.attributes.limit, 42);
    assert.ok((await api(s.url, key.ben!, 'GET', '/api/v3/intelligence/hunting_rulesets')).body.data.some((x: any) => x.id === id));
    assert.equal((await api(s.url, key.ben!, 'GET', `/api/v3/intelligence/hunting_rulesets/${id}/relationships/editors/ben`)).body.data, true);
    assert.ok(isVtError(await api(s.url, key.ben!, 'DELETE', `/api/v3/intelligence/hunting_rulesets/${id}`), 403, 'ForbiddenError'), 'only the owner deletes');
    assert.ok(isVtError(await api(s.url, key.cat!, 'GET', `/api/v3/intelligence/hunting_rulesets/${id}`), 404, 'NotFoundError'));
    assert.equal((await api(s.url, key.ann!, 'DELETE', `/api/v3/intelligence/hunting_rulesets/${id}/relationships/editors/red`)).status, 200);
    assert.ok(isVtError(await api(s.url, key.ben!, 'GET', `/api/v3/intelligence/hunting_rulesets/${id}`), 404, 'NotFoundError'));
  });

  it("lets members see, but not abort or delete, each other's Retrohunt jobs", async () => {
    const job = await api(s.url, key.ann!, 'POST', '/api/v3/intelligence/retrohunt_jobs', { data: { type: 'retrohunt_job', attributes: { rules: RULES } } });
    assert.equal(job.status, 200, JSON.stringify(job.body));
    const id = job.body.data.id;
    assert.equal((await api(s.url, key.ben!, 'GET', `/api/v3/intelligence/retrohunt_jobs/${id}`)).status, 200);
    assert.equal((await api(s.url, key.ben!, 'GET', `/api/v3/intelligence/retrohunt_jobs/${id}/matching_files`)).status, 200);
    const list = await api(s.url, key.ben!, 'GET', '/api/v3/intelligence/retrohunt_jobs');
    assert.deepEqual(list.body.data.map((j: any) => j.id), [id]);
    assert.equal(list.body.meta.count, 1);
    assert.ok(isVtError(await api(s.url, key.ben!, 'POST', `/api/v3/intelligence/retrohunt_jobs/${id}/abort`), 403, 'ForbiddenError'));
    assert.ok(isVtError(await api(s.url, key.ben!, 'DELETE', `/api/v3/intelligence/retrohunt_jobs/${id}`), 403, 'ForbiddenError'));
    assert.ok(isVtError(await api(s.url, key.cat!, 'GET', `/api/v3/intelligence/retrohunt_jobs/${id}`), 404, 'NotFoundError'));
    assert.deepEqual((await api(s.url, key.cat!, 'GET', '/api/v3/intelligence/retrohunt_jobs')).body.data, []);
  });
});
