// The Store contract: notifications and the live feed. Run against every implementation (SQLite
// with and without its writer thread, PostgreSQL; test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import pino from 'pino';
import { it } from 'node:test';
import { sql } from 'kysely';
import { storedStreamContext } from '../src/model/stream-context.js';
import { LiveFeed } from '../src/stream/live-feed.js';
import type { NotificationQuery } from '../src/store/store.js';
import { submission, ruleset, note, analysed, storeContract } from './helpers/store-contract.js';

storeContract('notifications and the live feed', ({ kind, backend, openAt, fresh }) => {
  it('stores notifications once per rule and submission, within the ruleset limit, and none for gone rulesets', async () => {
    const s = await fresh();
    const now = Math.floor(Date.now() / 1000);
    const r = await s.createRuleset(ruleset(1, 'capped', { limit: 3 }));
    const off = await s.createRuleset(ruleset(1, 'off', { enabled: false }));
    const gone = await s.createRuleset(ruleset(1, 'gone'));
    await s.deleteRuleset(gone.id);
    const first = await analysed(s, 'n1', (sub) => [note(r, sub, 'x', now), note(r, sub, 'x', now), note(r, sub, 'nosnip', now), note(off, sub, 'x', now), note(gone, sub, 'x', now)]);
    assert.deepEqual(first.stored.stored.map((n) => n.ruleName), ['x', 'nosnip'], 'the repeated rule is stored once');
    assert.equal(first.stored.gone, 2);
    assert.deepEqual(first.stored.rateLimited, {});
    const n = first.stored.stored[0]!;
    assert.deepEqual(await s.getNotification(n.id), n);
    assert.equal((await s.getNotification(first.stored.stored[1]!.id))?.snippet, null);
    assert.equal((await s.getRuleset(r.id))?.rateLimit.from, null);
    const second = await analysed(s, 'n2', (sub) => [note(r, sub, 'x', now), note(r, sub, 'y', now)]);
    assert.equal(second.stored.stored.length, 1, 'one more fits under the limit of 3');
    assert.deepEqual(second.stored.rateLimited, { [r.id]: 1 });
    const limited = (await s.getRuleset(r.id))!.rateLimit;
    assert.equal(limited.from, now);
    assert.equal(limited.until, now + 86_400, 'room frees up when the oldest turns a day old');
    // Notifications older than a day do not count.
    const old = await s.createRuleset(ruleset(1, 'old', { limit: 1 }));
    await analysed(s, 'n3', (sub) => [note(old, sub, 'x', now - 90_000)]);
    assert.equal((await analysed(s, 'n4', (sub) => [note(old, sub, 'x', now)])).stored.stored.length, 1);
  });

  it('lists notifications by scope, tag, date, file and position, in both orders, and counts them', async () => {
    const url = await backend.freshUrl();
    const s = await openAt(url);
    const mine = await s.createRuleset(ruleset(1, 'mine'));
    const theirs = await s.createRuleset(ruleset(2, 'theirs'));
    const other = await s.createRuleset(ruleset(2, 'other'));
    const ids: Record<string, number> = {};
    for (let i = 0; i < 6; i++) {
      const { stored } = await analysed(s, `l${i}`, (sub) => [
        note(mine, sub, 'r', 1_700_000_000 + i * 10, i % 2 ? ['odd'] : []),
        note(theirs, sub, 'r', 1_700_000_001 + i * 10),
        note(other, sub, 'r', 1_700_000_002 + i * 10),
      ]);
      for (const n of stored.stored) ids[`${n.rulesetName}${i}`] = n.id;
    }
    const q = (over: Partial<NotificationQuery>): NotificationQuery => ({ scope: { ownerIds: [1], rulesetIds: [] }, order: 'desc', limit: 100, ...over });
    const names = async (over: Partial<NotificationQuery>) => (await s.listNotifications(q(over))).map((n) => `${n.rulesetName}${(n.date % 100) / 10 | 0}`);
    assert.deepEqual(await names({}), ['mine5', 'mine4', 'mine3', 'mine2', 'mine1', 'mine0']);
    assert.deepEqual(await names({ order: 'asc', limit: 2 }), ['mine0', 'mine1']);
    assert.deepEqual(await names({ scope: { ownerIds: [1], rulesetIds: [theirs.id] }, limit: 4 }), ['theirs5', 'mine5', 'theirs4', 'mine4']);
    assert.deepEqual(await names({ scope: { ownerIds: [], rulesetIds: [theirs.id] }, limit: 2 }), ['theirs5', 'theirs4']);
    assert.deepEqual(await names({ tags: ['odd'] }), ['mine5', 'mine3', 'mine1']);
    assert.deepEqual(await names({ tags: ['odd', 'mine'] }), ['mine5', 'mine3', 'mine1']);
    // Stream entries: the same walk, each with the context stored with it.
    for (const over of [{ tags: ['odd'] }, { scope: { ownerIds: [1], rulesetIds: [theirs.id] }, order: 'asc' as const, limit: 5 }]) {
      const entries = await s.listStreamEntries(q(over));
      const expected = await s.listNotifications(q(over));
      assert.deepEqual(entries, expected.map((n) => ({
        id: n.id, date: n.date, sha256: n.sha256, context: storedStreamContext(n),
      })), JSON.stringify(over));
    }
    if (kind === 'postgres') {
      // Prepared (the default) and unprepared statements read the same rows, also once
      // PostgreSQL has switched a statement to its generic plan (after five runs; each shape runs seven times).
      const plain = await openAt(url, { preparedStatements: false });
      for (const over of [{ limit: 1 }, { limit: 3, order: 'asc' as const }, { tags: ['odd'], limit: 2 }, { scope: { ownerIds: [1], rulesetIds: [theirs.id] }, limit: 4 }]) {
        const expected = await plain.listStreamEntries(q(over));
        assert.ok(expected.length > 0, JSON.stringify(over));
        // A position before every row (in the walk's order) selects the same rows through another statement.
        const start = over.order === 'asc' ? { date: 0, id: 0 } : { date: 1_800_000_000, id: 1e9 };
        for (let run = 0; run < 14; run++) assert.deepEqual(await s.listStreamEntries(q({ ...over, after: run % 2 ? undefined : start })), expected, `${JSON.stringify(over)}, run ${run}`);
      }
      // A migration from another process changes the type of a column these statements return:
      // PostgreSQL then refuses the prepared statements ("cached plan must not change result
      // type"), and the store prepares them again instead of failing.
      const other = await backend.kysely(url);
      await sql`alter table hunting_notifications alter column date type numeric`.execute(other);
      await other.destroy();
      const over = { tags: ['odd'], limit: 2 };
      const entries = await s.listStreamEntries(q(over));
      assert.deepEqual(entries, await plain.listStreamEntries(q(over)));
      assert.ok(entries.length === 2 && entries.every((e) => Number.isSafeInteger(e.date)));
    }
    assert.deepEqual(await names({ tags: ['odd', 'nope'] }), []);
    assert.deepEqual(await names({ scope: { ownerIds: [2], rulesetIds: [] }, tags: ['theirs'], limit: 2 }), ['theirs5', 'theirs4']);
    assert.deepEqual(await names({ dateFrom: 1_700_000_020, dateTo: 1_700_000_040 }), ['mine3', 'mine2']);
    assert.deepEqual(await names({ scope: { ownerIds: [2], rulesetIds: [] }, sourceIds: [other.id], limit: 1 }), ['other5']);
    const sha = (await s.getNotification(ids.mine2!))!.sha256;
    assert.deepEqual(await names({ entityId: sha }), ['mine2']);
    assert.deepEqual(await names({ scope: { ownerIds: [], rulesetIds: [theirs.id] }, entityId: sha }), ['theirs2']);
    const n3 = (await s.getNotification(ids.mine3!))!;
    assert.deepEqual(await names({ after: { date: n3.date, id: n3.id } }), ['mine2', 'mine1', 'mine0']);
    assert.deepEqual(await names({ order: 'asc', after: { date: n3.date, id: n3.id } }), ['mine4', 'mine5']);
    assert.deepEqual(await names({ tags: ['odd'], after: { date: n3.date, id: n3.id } }), ['mine1']);
    // listNotificationIds walks what listNotifications walks, in the same order, merged parts included.
    // (Led by one tag and narrowed only by dates and position, positions come from the tag rows alone.)
    for (const over of [
      {}, { tags: ['odd'] }, { order: 'asc' as const, after: { date: n3.date, id: n3.id } }, { scope: { ownerIds: [1, 2], rulesetIds: [theirs.id] }, limit: 7 },
      { tags: ['odd'], dateFrom: 1_700_000_010, dateTo: 1_700_000_050 }, { tags: ['mine'], order: 'asc' as const, after: { date: n3.date, id: n3.id }, limit: 1 },
      { tags: ['odd'], entityId: sha }, { tags: ['mine', 'odd'] },
    ]) {
      assert.deepEqual(await s.listNotificationIds(q(over)), (await s.listNotifications(q(over))).map((n) => n.id), JSON.stringify(over));
    }
    assert.equal(await s.countNotifications(q({}), 200), 6);
    assert.equal(await s.countNotifications(q({}), 4), 4, 'capped');
    assert.equal(await s.countNotifications(q({ tags: ['odd'], after: { date: n3.date, id: n3.id } }), 200), 3, 'the position does not narrow a count');
    assert.equal(await s.countNotifications(q({ scope: { ownerIds: [1, 2], rulesetIds: [] } }), 200), 18);
    // A new owner takes the notifications along, tags included.
    await s.updateRuleset(mine.id, { ownerId: 3 });
    assert.deepEqual(await names({ tags: ['odd'] }), []);
    assert.deepEqual(await names({ scope: { ownerIds: [3], rulesetIds: [] }, tags: ['odd'] }), ['mine5', 'mine3', 'mine1']);
    assert.equal(await s.deleteNotifications([ids.mine5!, ids.mine3!, 999_999]), 2);
    assert.deepEqual(await names({ scope: { ownerIds: [3], rulesetIds: [] }, tags: ['odd'] }), ['mine1']);
    assert.equal(await s.countNotifications(q({ scope: { ownerIds: [3], rulesetIds: [] }, tags: ['odd'] }), 200), 1, 'deleted with their tag rows');
    assert.equal(await s.countNotifications(q({ tags: ['odd'] }), 200), 0);
    assert.equal(await s.getNotification(ids.mine5!), null);
    assert.deepEqual((await s.getFiles([sha, sha.toUpperCase(), 'f'.repeat(64)])).map((f) => f.sha256), [sha]);
  });

  it('live feed: a nudge delivers new notifications at once, each once, without waiting for the interval', async () => {
    const s = await fresh();
    const r = await s.createRuleset(ruleset(1, 'followed'));
    const now = Math.floor(Date.now() / 1000);
    await analysed(s, 'before', (sub) => [note(r, sub, 'old', now)]);
    const feed = new LiveFeed(s, 3_600_000, pino({ level: 'silent' })); // an interval no test waits for
    const got: string[] = [];
    const f = feed.follow(() => true, (e) => got.push(e.notification.ruleName), () => undefined);
    await f.ready;
    await analysed(s, 'new 1', (sub) => [note(r, sub, 'one', now)]);
    feed.nudge();
    await analysed(s, 'new 2', (sub) => [note(r, sub, 'two', now)]);
    feed.nudge(); // may come while the first nudge's poll runs: it polls again after it
    for (let t = Date.now(); got.length < 2 && Date.now() - t < 5000; ) await new Promise((res) => setTimeout(res, 10));
    feed.nudge();
    await new Promise((res) => setTimeout(res, 50));
    assert.deepEqual(got, ['one', 'two'], 'what was stored before following is not sent; nothing twice');
    f.stop();
    feed.close();
  });
});
