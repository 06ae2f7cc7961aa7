// The Store contract: rulesets, editors and generations. Run against every implementation (SQLite
// with and without its writer thread, PostgreSQL; test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ruleset, storeContract } from './helpers/store-contract.js';

storeContract('rulesets, editors and generations', ({ fresh }) => {
  it('numbers ruleset changes so matchers can follow them', async () => {
    const s = await fresh();
    const g0 = await s.rulesGeneration();
    const a = await s.createRuleset(ruleset(1, 'a'));
    const b = await s.createRuleset(ruleset(1, 'b', { enabled: false }));
    const g1 = await s.rulesGeneration();
    assert.ok(g1 >= g0 + 2);
    assert.deepEqual((await s.enabledRulesetSources()).map((x) => x.id), [a.id]);
    await s.updateRuleset(a.id, { name: 'renamed' });
    assert.equal(await s.rulesGeneration(), g1, 'a rename changes nothing compiled');
    await s.updateRuleset(b.id, { enabled: true });
    await s.updateRuleset(a.id, { rules: 'rule z { condition: false }' });
    await s.deleteRuleset(a.id);
    const since = await s.rulesetChangesSince(g1);
    assert.deepEqual(since, { generation: g1 + 3, rulesetIds: [b.id, a.id] });
    assert.deepEqual(await s.rulesetChangesSince(g1 + 3), { generation: g1 + 3, rulesetIds: [] });
    assert.deepEqual((await s.enabledRulesetSources([a.id, b.id])).map((x) => [x.id, x.generation]), [[b.id, g1 + 1]]);
    assert.equal(await s.rulesetChangesSince(9_999_999), null, 'history it never saw counts as pruned');
    await s.recordSlowScan(b.id, { date: 5, sha256: 'f'.repeat(64), milliseconds: 1200, timedOut: true });
    await s.recordSlowScan(b.id, { date: 6, sha256: 'e'.repeat(64), milliseconds: 900, timedOut: false });
    const rb = await s.getRuleset(b.id);
    assert.equal(rb?.slowScans, 2);
    assert.deepEqual(rb?.lastSlowScan, { date: 6, sha256: 'e'.repeat(64), milliseconds: 900, timedOut: false });
  });

  it('stores rulesets with their editors, visible to owner and editors only', async () => {
    const s = await fresh();
    const base = {
      rules: 'rule a { condition: true }', enabled: false, limit: 100, notificationEmails: ['x@example.org'],
      matchObjectType: 'file', tags: ['t1'], ruleNames: ['a'], creationDate: 1_700_000_000, modificationDate: 1_700_000_000,
    };
    const r1 = await s.createRuleset({ ...base, ownerId: 1, name: 'one' });
    const r2 = await s.createRuleset({ ...base, ownerId: 2, name: 'two' });
    assert.notEqual(r1.id, r2.id);
    assert.deepEqual(await s.getRuleset(r1.id), {
      ...base, ownerId: 1, name: 'one', id: r1.id, editorIds: [], editorGroupIds: [], groupMemberIds: [], rulesGeneration: r1.rulesGeneration,
      rateLimit: { from: null, until: null, log: [] }, slowScans: 0, lastSlowScan: null,
    });
    assert.ok(r2.rulesGeneration > r1.rulesGeneration, 'each create is a new generation');
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.name), ['one']);
    await s.addRulesetEditor(r2.id, 1);
    await s.addRulesetEditor(r2.id, 1);
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.name), ['one', 'two']);
    assert.deepEqual((await s.getRuleset(r2.id))?.editorIds, [1]);
    assert.deepEqual(await s.sharedRulesets(1), [{ id: r2.id, ownerId: 2 }]);
    assert.deepEqual(await s.sharedRulesets(2), [], 'own rulesets are not shared ones');
    assert.equal((await s.findRulesetByName(2, 'two'))?.id, r2.id);
    assert.equal(await s.findRulesetByName(1, 'two'), null);
    const changed = await s.updateRuleset(r1.id, { enabled: true, name: 'uno', tags: [], modificationDate: 1_700_000_100 });
    assert.equal(changed?.enabled, true);
    assert.equal(changed?.name, 'uno');
    assert.deepEqual(changed?.tags, []);
    assert.equal(changed?.creationDate, 1_700_000_000);
    assert.equal(await s.updateRuleset(999_999, { name: 'x' }), null);
    assert.equal(await s.removeRulesetEditor(r2.id, 1), true);
    assert.equal(await s.removeRulesetEditor(r2.id, 1), false);
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.name), ['uno']);
    assert.equal(await s.deleteRuleset(r1.id), true);
    assert.equal(await s.deleteRuleset(r1.id), false);
    assert.equal(await s.getRuleset(r1.id), null);
  });
});
