// Hunting rulesets over real HTTP (spec 2): create/get/list/PATCH/delete, validation with YARA-X,
// filters and orders, and that nobody but owner and editors sees a ruleset.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, isVtError, newUser, startTestService, type TestService } from './helpers/service.js';

const RULES = `rule eicar_like : test malware {
  strings:
    $a = "X5O!P%@AP" ascii
    $h = { 4D 5A [2-8] 50 45 ?? 00 }
    $r = /https?:\\/\\/[a-z0-9.-]{4,64}\\/payload/
  condition:
    any of them
}
rule second { condition: filesize < 10 }`;

describe('hunting rulesets', () => {
  let s: TestService;
  let alice: string;
  let bob: string;
  const path = '/api/v3/intelligence/hunting_rulesets';
  const create = (key: string, attributes: Record<string, unknown>) => api(s.url, key, 'POST', path, { data: { type: 'hunting_ruleset', attributes } });

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
  });
  after(async () => s.stop());

  it('creates a ruleset with defaults and computed attributes', async () => {
    const r = await create(alice, { name: 'Malicious_scripts', rules: RULES });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const d = r.body.data;
    assert.equal(d.type, 'hunting_ruleset');
    assert.match(d.id, /^\d+$/);
    assert.equal(d.links.self, `${s.url}${path}/${d.id}`);
    assert.equal(d.attributes.enabled, false);
    assert.equal(d.attributes.match_object_type, 'file');
    assert.equal(d.attributes.number_of_rules, 2);
    assert.deepEqual(d.attributes.rule_names, ['eicar_like', 'second']);
    assert.equal(typeof d.attributes.creation_date, 'number');
    assert.equal(d.attributes.rate_limited, false);
    assert.equal((await api(s.url, alice, 'GET', `${path}/${d.id}`)).body.data.attributes.rules, RULES);
  });

  it('refuses rules that do not compile, with line and column, and other bad input', async () => {
    const bad = await create(alice, { name: 'broken', rules: 'rule x {\n  condition:\n    foo and\n}' });
    assert.ok(isVtError(bad, 400, 'InvalidArgumentError'), JSON.stringify(bad.body));
    assert.match(bad.body.error.message, /line|:\d+:\d+/);
    for (const attrs of [
      { name: 'empty', rules: '   ' },
      { name: 'inc', rules: 'include "other.yar"\nrule a { condition: true }' },
      { name: 'big', rules: `rule a { condition: true }\n//${'x'.repeat(2 * 1024 * 1024)}` },
      { name: 'huge', rules: `rule a { condition: true }\n//${'x'.repeat(10 * 1024 * 1024)}` },
      { name: 'slow', rules: 'rule slow { strings: $a = "x" condition: $a }' },
      { rules: RULES },
      { name: 'x', rules: RULES, colour: 'red' },
      { name: 'x', rules: RULES, enabled: 'yes' },
      { name: 'x', rules: RULES, limit: -1 },
      { name: 'x', rules: RULES, match_object_type: 'url' },
      { name: 'x', rules: RULES, notification_emails: ['not an address'] },
    ]) {
      const r = await create(alice, attrs);
      assert.ok(isVtError(r, 400, 'InvalidArgumentError'), `${JSON.stringify(attrs).slice(0, 80)}: ${JSON.stringify(r.body)}`);
    }
    assert.ok(isVtError(await create(alice, { name: 'Malicious_scripts', rules: RULES }), 409, 'AlreadyExistsError'));
  });

  it('PATCHes partially, with or without data.id, and refuses read-only changes', async () => {
    const id = (await create(alice, { name: 'patchme', rules: RULES, tags: ['a'] })).body.data.id;
    const p = await api(s.url, alice, 'PATCH', `${path}/${id}`, { data: { type: 'hunting_ruleset', attributes: { enabled: true } } });
    assert.equal(p.status, 200);
    assert.equal(p.body.data.attributes.enabled, true);
    assert.deepEqual(p.body.data.attributes.tags, ['a']);
    // vt-py's whole-object PATCH sends computed attributes back unchanged.
    const whole = { ...p.body.data.attributes, limit: 50 };
    const w = await api(s.url, alice, 'PATCH', `${path}/${id}`, { data: { type: 'hunting_ruleset', attributes: whole } });
    assert.equal(w.status, 200, JSON.stringify(w.body));
    assert.equal(w.body.data.attributes.limit, 50);
    const ro = await api(s.url, alice, 'PATCH', `${path}/${id}`, { data: { type: 'hunting_ruleset', id, attributes: { number_of_rules: 7 } } });
    assert.ok(isVtError(ro, 400, 'InvalidArgumentError'), JSON.stringify(ro.body));
    const rules = await api(s.url, alice, 'PATCH', `${path}/${id}`, { data: { type: 'hunting_ruleset', id, attributes: { rules: 'rule only_one { condition: true }' } } });
    assert.deepEqual(rules.body.data.attributes.rule_names, ['only_one']);
    const broken = await api(s.url, alice, 'PATCH', `${path}/${id}`, { data: { type: 'hunting_ruleset', attributes: { rules: 'rule {' } } });
    assert.ok(isVtError(broken, 400, 'InvalidArgumentError'));
    assert.deepEqual((await api(s.url, alice, 'GET', `${path}/${id}`)).body.data.attributes.rule_names, ['only_one'], 'a refused PATCH changes nothing');
  });

  it('hides rulesets from other users, who cannot read, change or delete them', async () => {
    const id = (await create(alice, { name: 'secret', rules: RULES })).body.data.id;
    assert.ok(isVtError(await api(s.url, bob, 'GET', `${path}/${id}`), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, bob, 'PATCH', `${path}/${id}`, { data: { attributes: { enabled: true } } }), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, bob, 'DELETE', `${path}/${id}`), 404, 'NotFoundError'));
    assert.ok(!(await api(s.url, bob, 'GET', path)).body.data.some((r: { id: string }) => r.id === id));
    assert.ok(isVtError(await api(s.url, bob, 'GET', '/api/v3/users/alice/hunting_rulesets'), 403, 'ForbiddenError'));
    assert.equal((await api(s.url, alice, 'GET', `${path}/${id}`)).status, 200);
  });

  it('shares with editors, who may read and change but not delete; transfers ownership', async () => {
    const id = (await create(alice, { name: 'shared', rules: RULES })).body.data.id;
    const rel = `${path}/${id}/relationships`;
    assert.ok(isVtError(await api(s.url, bob, 'POST', `${rel}/editors`, { data: [{ type: 'user', id: 'bob' }] }), 404, 'NotFoundError'), 'not visible to bob yet');
    assert.equal((await api(s.url, alice, 'POST', `${rel}/editors`, { data: [{ type: 'user', id: 'bob' }] })).status, 200);
    assert.equal((await api(s.url, alice, 'GET', `${rel}/editors/bob`)).body.data, true);
    assert.deepEqual((await api(s.url, bob, 'GET', `${rel}/editors`)).body.data, [{ type: 'user', id: 'bob' }]);
    assert.equal((await api(s.url, bob, 'GET', `${path}/${id}/owner`)).body.data.id, 'alice');
    // vt-cli asks for both relationships on every get and list.
    const withRel = (await api(s.url, bob, 'GET', `${path}/${id}?relationships=owner,editors`)).body.data.relationships;
    assert.deepEqual(withRel.owner.data, { type: 'user', id: 'alice' });
    assert.deepEqual(withRel.editors.data, [{ type: 'user', id: 'bob' }]);
    assert.equal(withRel.editors.links.self, `${s.url}${path}/${id}/relationships/editors`);
    const listed = (await api(s.url, bob, 'GET', `${path}?relationships=owner,editors`)).body.data;
    assert.deepEqual(listed.find((r: any) => r.id === id).relationships.owner.data, { type: 'user', id: 'alice' });
    assert.equal((await api(s.url, bob, 'PATCH', `${path}/${id}`, { data: { attributes: { enabled: true } } })).status, 200);
    assert.ok(isVtError(await api(s.url, bob, 'DELETE', `${path}/${id}`), 403, 'ForbiddenError'));
    assert.ok(isVtError(await api(s.url, bob, 'POST', `${rel}/owner`, { data: { type: 'user', id: 'bob' } }), 403, 'ForbiddenError'));
    assert.equal((await api(s.url, bob, 'DELETE', `${rel}/editors/bob`)).status, 200);
    assert.ok(isVtError(await api(s.url, bob, 'GET', `${path}/${id}`), 404, 'NotFoundError'));
    const moved = await api(s.url, alice, 'POST', `${rel}/owner`, { data: { type: 'user', id: 'bob' } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal((await api(s.url, bob, 'GET', `${rel}/owner`)).body.data.id, 'bob');
    assert.equal((await api(s.url, alice, 'GET', `${rel}/editors/alice`)).body.data, true, 'the old owner stays an editor');
    assert.ok(isVtError(await api(s.url, alice, 'POST', `${rel}/editors`, { data: [{ type: 'user', id: 'nobody' }] }), 403, 'ForbiddenError'));
  });

  it('filters and orders the list, and pages through it', async () => {
    const k = (await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'carol' } })).body.data.attributes.apikey as string;
    await create(k, { name: 'auto_network_watch_1', rules: 'rule net1 { strings: $a = "evil.example" condition: $a }', tags: ['autogenerated'], enabled: true });
    await create(k, { name: 'auto_network_watch_2', rules: 'rule net2 { condition: true }', tags: ['autogenerated'] });
    await create(k, { name: 'foobar', rules: 'rule foo { condition: true }' });
    await create(k, { name: 'my foo set', rules: 'rule bar { condition: false }', tags: ['Manual'] });
    const names = async (q: string) => (await api(s.url, k, 'GET', `${path}?${q}`)).body.data.map((r: { attributes: { name: string } }) => r.attributes.name);
    assert.deepEqual(await names('filter=enabled:true'), ['auto_network_watch_1']);
    assert.deepEqual(await names('filter=name:foo'), ['my foo set'], 'whole words only');
    assert.deepEqual(await names(`filter=${encodeURIComponent('name:auto_network_watch_* tag:autogenerated')}`), ['auto_network_watch_1', 'auto_network_watch_2']);
    assert.deepEqual(await names('filter=rules:evil'), ['auto_network_watch_1']);
    assert.deepEqual(await names('filter=tag:manual'), ['my foo set']);
    assert.deepEqual(await names('order=name-'), ['my foo set', 'foobar', 'auto_network_watch_2', 'auto_network_watch_1']);
    assert.ok(isVtError(await api(s.url, k, 'GET', `${path}?filter=colour:red`), 400, 'BadRequestError'));
    assert.ok(isVtError(await api(s.url, k, 'GET', `${path}?order=size`), 400, 'BadRequestError'));
    const seen: string[] = [];
    let url: string | undefined = `${s.url}${path}?limit=3&order=name`;
    while (url) {
      const r = await api(s.url, k, 'GET', url);
      seen.push(...r.body.data.map((x: { attributes: { name: string } }) => x.attributes.name));
      url = r.body.links.next;
    }
    assert.deepEqual(seen, ['auto_network_watch_1', 'auto_network_watch_2', 'foobar', 'my foo set']);
    const own = await api(s.url, k, 'GET', '/api/v3/users/carol/hunting_rulesets');
    assert.equal(own.body.data.length, 4);
    assert.ok(isVtError(await api(s.url, k, 'DELETE', path), 400, 'BadRequestError'), 'delete-all needs x-confirm-delete');
    assert.equal((await api(s.url, k, 'DELETE', path, undefined, { 'x-confirm-delete': 'carol' })).status, 200);
    assert.deepEqual(await names(''), []);
  });
});
