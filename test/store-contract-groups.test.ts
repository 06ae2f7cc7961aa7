// The Store contract: groups, rulesets shared with them, quotas and usage. Run against every
// implementation (SQLite with and without its writer thread, PostgreSQL; test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isCode, ruleset, storeContract } from './helpers/store-contract.js';

storeContract('groups, quotas and usage', ({ fresh }) => {
  it('creates groups, adds and removes members, and deletes groups with what hangs on them', async () => {
    const s = await fresh();
    const a = await s.createUser({ username: 'a', isAdmin: false, apikeyHash: 'ha', createdAt: 1 });
    const b = await s.createUser({ username: 'b', isAdmin: false, apikeyHash: 'hb', createdAt: 1 });
    const team = await s.createGroup('team', 100);
    assert.deepEqual(team, { id: team.id, name: 'team', createdAt: 100 });
    await assert.rejects(s.createGroup('team', 101), isCode('AlreadyExistsError'));
    const other = await s.createGroup('other', 102);
    assert.deepEqual(await s.getGroupByName('team'), team);
    assert.equal(await s.getGroupByName('nope'), null);
    assert.deepEqual((await s.listGroups()).map((g) => g.name), ['team', 'other']);

    await s.setGroupMember(team.id, b.id, false);
    await s.setGroupMember(team.id, a.id, false);
    await s.setGroupMember(team.id, a.id, true); // an update, not a second row
    await s.setGroupMember(other.id, a.id, false);
    assert.deepEqual(await s.groupMembers(team.id), [{ userId: a.id, isAdmin: true }, { userId: b.id, isAdmin: false }]);
    assert.deepEqual((await s.groupsOf(a.id)).map((g) => g.name), ['team', 'other'], 'oldest first');
    assert.equal(await s.removeGroupMember(other.id, a.id), true);
    assert.equal(await s.removeGroupMember(other.id, a.id), false);
    assert.deepEqual((await s.groupsOf(a.id)).map((g) => g.name), ['team']);

    await s.setQuota({ kind: 'group', id: team.id }, 'api_requests_daily', 5);
    assert.equal(await s.deleteGroup(team.id), true);
    assert.equal(await s.deleteGroup(team.id), false);
    assert.deepEqual(await s.groupsOf(a.id), []);
    assert.deepEqual(await s.groupMembers(team.id), []);
    assert.deepEqual(await s.getQuotas({ kind: 'group', id: team.id }), {});
  });

  it('makes the members of a group a ruleset is shared with its editors', async () => {
    const s = await fresh();
    const owner = await s.createUser({ username: 'o', isAdmin: false, apikeyHash: 'ho', createdAt: 1 });
    const m = await s.createUser({ username: 'm', isAdmin: false, apikeyHash: 'hm', createdAt: 1 });
    const outsider = await s.createUser({ username: 'x', isAdmin: false, apikeyHash: 'hx', createdAt: 1 });
    const g = await s.createGroup('g', 1);
    await s.setGroupMember(g.id, owner.id, false);
    await s.setGroupMember(g.id, m.id, false);
    const r = await s.createRuleset(ruleset(owner.id, 'shared'));
    await s.createRuleset(ruleset(outsider.id, 'theirs'));
    assert.deepEqual(await s.listRulesetsOf(m.id), []);
    await s.addRulesetGroup(r.id, g.id);
    await s.addRulesetGroup(r.id, g.id);
    const got = await s.getRuleset(r.id);
    assert.deepEqual([got?.editorIds, got?.editorGroupIds, got?.groupMemberIds], [[], [g.id], [m.id]], 'the owner is not an editor of their own');
    assert.deepEqual((await s.listRulesetsOf(m.id)).map((x) => x.name), ['shared']);
    assert.deepEqual(await s.sharedRulesets(m.id), [{ id: r.id, ownerId: owner.id }]);
    assert.deepEqual(await s.sharedRulesets(owner.id), []);
    assert.deepEqual(await s.listRulesetsOf(outsider.id).then((l) => l.map((x) => x.name)), ['theirs']);
    // Also a direct editor: listed once.
    await s.addRulesetEditor(r.id, m.id);
    assert.deepEqual(await s.sharedRulesets(m.id), [{ id: r.id, ownerId: owner.id }]);
    assert.equal((await s.listRulesetsOf(m.id)).length, 1);
    assert.equal(await s.removeRulesetGroup(r.id, g.id), true);
    assert.equal(await s.removeRulesetGroup(r.id, g.id), false);
    assert.deepEqual((await s.getRuleset(r.id))?.groupMemberIds, []);
  });

  it('sets and clears quotas of users and groups', async () => {
    const s = await fresh();
    await s.setQuota({ kind: 'user', id: 7 }, 'api_requests_daily', 100);
    await s.setQuota({ kind: 'user', id: 7 }, 'api_requests_daily', 50);
    await s.setQuota({ kind: 'user', id: 7 }, 'intelligence_hunting_rulesets', 0);
    await s.setQuota({ kind: 'group', id: 7 }, 'api_requests_minutely', 3);
    assert.deepEqual(await s.getQuotas({ kind: 'user', id: 7 }), { api_requests_daily: 50, intelligence_hunting_rulesets: 0 });
    assert.deepEqual(await s.getQuotas({ kind: 'group', id: 7 }), { api_requests_minutely: 3 });
    await s.setQuota({ kind: 'user', id: 7 }, 'api_requests_daily', null);
    assert.deepEqual(await s.getQuotas({ kind: 'user', id: 7 }), { intelligence_hunting_rulesets: 0 });
  });

  it('adds usage atomically, sums it by user, day and bucket, and forgets old minutes', async () => {
    const s = await fresh();
    // Concurrent adds to one row (as several API processes do) lose nothing.
    await Promise.all(Array.from({ length: 20 }, () => s.addDailyUsage([{ userId: 1, day: 20261207, bucket: 'files', count: 1 }])));
    await s.addDailyUsage([
      { userId: 1, day: 20261207, bucket: 'quota:downloads', count: 2 },
      { userId: 1, day: 20261206, bucket: 'files', count: 5 },
      { userId: 2, day: 20261207, bucket: 'ioc_stream', count: 3 },
    ]);
    assert.deepEqual([...await s.usageTotals([1, 2, 3], 20261207, 20261207)].sort(), [[1, 20], [2, 3]], 'request buckets only');
    assert.deepEqual([...await s.usageTotals([1], 20261201, 20261231)], [[1, 25]]);
    assert.deepEqual([...await s.usageTotals([1, 2], 20261201, 20261231, 'quota:downloads')], [[1, 2]]);
    assert.deepEqual(await s.usageTotals([], 0, 99999999), new Map());
    assert.deepEqual(await s.dailyUsage(1, 20261206, 20261207), [
      { day: 20261206, bucket: 'files', count: 5 },
      { day: 20261207, bucket: 'files', count: 20 },
      { day: 20261207, bucket: 'quota:downloads', count: 2 },
    ]);

    await Promise.all(Array.from({ length: 10 }, () => s.addMinuteUsage([{ userId: 1, minute: 1000, count: 2 }], 990)));
    await s.addMinuteUsage([{ userId: 2, minute: 1001, count: 1 }], 990);
    assert.deepEqual([...await s.minuteUsage([1, 2], 1000)], [[1, 20]]);
    await s.addMinuteUsage([], 1001);
    assert.deepEqual(await s.minuteUsage([1], 1000), new Map(), 'minutes before dropBefore are gone');
    assert.deepEqual([...await s.minuteUsage([2], 1001)], [[2, 1]]);
  });

  it('takes a deleted user out of their groups and forgets their quotas', async () => {
    const s = await fresh();
    const u = await s.createUser({ username: 'u', isAdmin: false, apikeyHash: 'hu', createdAt: 1 });
    const g = await s.createGroup('g', 1);
    await s.setGroupMember(g.id, u.id, false);
    await s.setQuota({ kind: 'user', id: u.id }, 'api_requests_daily', 1);
    await s.deleteUser(u.id);
    assert.deepEqual(await s.groupMembers(g.id), []);
    assert.deepEqual(await s.getQuotas({ kind: 'user', id: u.id }), {});
  });
});
