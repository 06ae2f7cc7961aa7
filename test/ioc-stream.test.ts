// The IoC Stream over real HTTP (spec 4): items and their context, every filter kind, cursors
// that hold while notifications come and go, background deletion, the notification object,
// isolation between users, and the live feed with resumption.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, isVtError, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const STREAM = '/api/v3/ioc_stream';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('IoC Stream', () => {
  let s: TestService;
  let alice: string;
  let bob: string;
  let aliceSet: string;
  let bobSet: string;

  const ruleset = async (key: string, name: string, rules: string) => {
    const r = await api(s.url, key, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name, rules, enabled: true } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.id as string;
  };
  const upload = async (content: Buffer) => {
    const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
    await waitForAnalysis(s.url, s.adminKey, r.body.data.id);
    return sha256(content);
  };
  const stream = (key: string, query = '') => api(s.url, key, 'GET', `${STREAM}${query}`);
  const ids = (r: { body: any }) => r.body.data.map((d: any) => d.context_attributes.notification_id as string);

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
    aliceSet = await ruleset(alice, 'Alice_Set', 'rule alice_rule : apt { strings: $a = "ALICE-MARK" condition: $a }');
    bobSet = await ruleset(bob, 'bob_set', 'rule bob_rule { strings: $a = "BOB-MARK" condition: $a }');
    for (let i = 0; i < 5; i++) await upload(Buffer.from(`ALICE-MARK ${i} ${randomBytes(6).toString('hex')}`));
    await upload(Buffer.from(`ALICE-MARK BOB-MARK both ${randomBytes(6).toString('hex')}`));
  });
  after(async () => s.stop());

  it('returns matched File objects with the notification context, newest first, with meta.count', async () => {
    const r = await stream(alice, '?limit=2');
    assert.equal(r.status, 200);
    assert.equal(r.body.meta.count, 6);
    assert.ok(r.body.meta.cursor && r.body.links.next.startsWith(`${s.url}${STREAM}?`));
    const [item] = r.body.data;
    assert.equal(item.type, 'file');
    assert.match(item.id, /^[0-9a-f]{64}$/);
    assert.equal(item.links.self, `${s.url}/api/v3/files/${item.id}`);
    assert.equal(item.attributes.sha256, item.id);
    const c = item.context_attributes;
    assert.match(c.notification_id, /^\d+$/);
    assert.equal(typeof c.notification_date, 'number');
    assert.equal(c.origin, 'hunting');
    assert.deepEqual(c.sources, [{ type: 'hunting_ruleset', id: aliceSet, label: 'Alice_Set' }]);
    assert.deepEqual([...c.tags].sort(), ['alice_rule', 'alice_set', 'apt', item.id].sort());
    assert.equal(c.hunting_info.rule_name, 'alice_rule');
    assert.deepEqual(c.hunting_info.rule_tags, ['apt']);
    assert.match(c.hunting_info.snippet, /\*begin_highlight\*/);
    assert.match(c.hunting_info.source_key, /^[0-9a-f]{8}$/);
    assert.equal(c.hunting_info.match_in_subfile, false);
    const d = await stream(alice, '?descriptors_only=true&limit=1');
    assert.deepEqual(Object.keys(d.body.data[0]).sort(), ['context_attributes', 'id', 'type']);
    const all = await stream(alice, '?limit=100');
    assert.equal(all.body.data.length, 6, 'limit is capped at 40, not refused');
    const asc = await stream(alice, '?order=date%2B&limit=40');
    assert.deepEqual(ids(asc), [...ids(all)].reverse());
  });

  it('filters with every key of the grammar, and refuses bad terms naming them', async () => {
    const both = (await stream(bob)).body.data[0].id as string;
    const count = async (filter: string, key = alice) => (await stream(key, `?filter=${encodeURIComponent(filter)}&limit=40`)).body.data.length as number;
    assert.equal(await count('origin:hunting'), 6);
    assert.equal(await count('origin:subscriptions'), 0);
    assert.equal(await count('entity_type:file'), 6);
    assert.equal(await count('entity_type:url'), 0);
    assert.equal(await count(`entity_id:${both}`), 1);
    assert.equal(await count(`entity_id:${both.toUpperCase()}`), 1);
    assert.equal(await count('source_type:hunting_ruleset'), 6);
    assert.equal(await count('source_type:collection'), 0);
    assert.equal(await count(`source_id:${aliceSet}`), 6);
    assert.equal(await count(`source_id:${bobSet}`), 0, "bob's ruleset is not alice's source");
    assert.equal(await count('notification_tag:alice_rule'), 6);
    assert.equal(await count('tag:APT'), 6);
    assert.equal(await count(`tag:alice_set tag:${both}`), 1);
    assert.equal(await count('date:2000-01-01+ date:2100-01-01-'), 6);
    assert.equal(await count('date:2100-01-01+'), 0);
    assert.equal(await count('date:2100-01-01+ date:2000-01-01-'), 0, 'a contradictory window is empty');
    assert.equal(await count(`date:${Math.floor(Date.now() / 1000) - 3600}+ origin:hunting entity_type:file`), 6);

    const bad = await stream(alice, '?filter=origin:notHunting');
    assert.ok(isVtError(bad, 400, 'BadRequestError'));
    assert.equal(bad.body.error.message, 'origin "notHunting" is not valid. Valid origins are: hunting,subscriptions');
    for (const f of ['entity_type:elephant', 'source_type:x', 'colour:red', 'date:soon', 'justaword']) {
      const r = await stream(alice, `?filter=${encodeURIComponent(f)}`);
      assert.ok(isVtError(r, 400, 'BadRequestError'), `${f}: ${JSON.stringify(r.body)}`);
      assert.ok(r.body.error.message.includes(f.split(':')[0]!), r.body.error.message);
    }
    assert.ok(isVtError(await stream(alice, '?order=size'), 400, 'BadRequestError'));
    assert.ok(isVtError(await stream(alice, '?cursor=nonsense'), 400, 'BadRequestError'));
  });

  it("never shows a user another user's notifications, whatever the filter or cursor", async () => {
    const mine = await stream(bob, '?limit=40');
    assert.equal(mine.body.data.length, 1);
    assert.equal(mine.body.data[0].context_attributes.sources[0].id, bobSet);
    const aliceOnly = (await stream(alice, '?filter=tag:alice_rule&limit=40')).body.data.find((d: any) => d.id !== mine.body.data[0].id).id;
    assert.equal((await stream(bob, `?filter=entity_id:${aliceOnly}`)).body.data.length, 0);
    assert.equal((await stream(bob, `?filter=source_id:${aliceSet}`)).body.data.length, 0);
    const aliceCursor = (await stream(alice, '?limit=1')).body.meta.cursor;
    const copied = await stream(bob, `?cursor=${aliceCursor}&limit=40`);
    assert.ok(copied.body.data.every((d: any) => d.context_attributes.sources[0].id === bobSet));
    const theirs = mine.body.data[0].context_attributes.notification_id;
    // Another user's notification is as unknown as a missing one: ids cannot be counted.
    const missing = await api(s.url, alice, 'GET', '/api/v3/ioc_stream_notifications/999999999');
    assert.ok(isVtError(missing, 404, 'NotFoundError'));
    const got = await api(s.url, alice, 'GET', `/api/v3/ioc_stream_notifications/${theirs}`);
    assert.ok(isVtError(got, 404, 'NotFoundError'));
    assert.equal(got.body.error.message.replace(theirs, 'ID'), missing.body.error.message.replace('999999999', 'ID'));
    assert.ok(isVtError(await api(s.url, alice, 'DELETE', `/api/v3/ioc_stream_notifications/${theirs}`), 404, 'NotFoundError'));
  });

  it('serves and deletes IoC Stream notifications, and deleting removes them from both views', async () => {
    const item = (await stream(bob)).body.data[0];
    const id = item.context_attributes.notification_id;
    const n = await api(s.url, bob, 'GET', `/api/v3/ioc_stream_notifications/${id}`);
    assert.equal(n.status, 200);
    assert.equal(n.body.data.type, 'ioc_stream_notification');
    assert.equal(n.body.data.links.self, `${s.url}/api/v3/ioc_stream_notifications/${id}`);
    const a = n.body.data.attributes;
    assert.equal(a.entity_type, 'file');
    assert.equal(a.entity_id, item.id);
    assert.equal(a.origin, 'hunting');
    assert.deepEqual(a.sources, [{ type: 'hunting_ruleset', id: bobSet }]);
    assert.equal(a.hunting_info.rule_name, 'bob_rule');
    assert.equal(typeof a.date, 'number');
    assert.equal((await api(s.url, bob, 'GET', `/api/v3/intelligence/hunting_notifications/${id}`)).status, 200, 'the same id in the legacy view');
    const del = await api(s.url, bob, 'DELETE', `/api/v3/ioc_stream_notifications/${id}`);
    assert.equal(del.status, 200);
    assert.equal(del.body, undefined, 'an empty body');
    assert.ok(isVtError(await api(s.url, bob, 'GET', `/api/v3/intelligence/hunting_notifications/${id}`), 404, 'NotFoundError'));
    assert.equal((await stream(bob)).body.data.length, 0);
  });

  it('pages without repeating or skipping while notifications are added and deleted', async () => {
    for (const order of ['date-', 'date+']) {
      const before = new Set<string>(ids(await stream(alice, "?limit=40")));
      const seen: string[] = [];
      let url = `${STREAM}?limit=2&order=${encodeURIComponent(order)}`;
      let step = 0;
      const deletedIds = new Set<string>();
      for (;;) {
        const page = await api(s.url, alice, 'GET', url);
        assert.equal(page.status, 200);
        seen.push(...ids(page));
        // Meanwhile: a new notification arrives, and one not yet seen is made by us and deleted.
        if (step++ < 3) {
          await upload(Buffer.from(`ALICE-MARK during ${order} ${step} ${randomBytes(6).toString('hex')}`));
          const fresh = ids(await stream(alice, '?limit=1'))[0]!;
          await api(s.url, alice, 'DELETE', `/api/v3/ioc_stream_notifications/${fresh}`);
          deletedIds.add(fresh);
        }
        if (!page.body.meta.cursor) break;
        url = `${STREAM}?limit=2&order=${encodeURIComponent(order)}&cursor=${page.body.meta.cursor}`;
      }
      assert.equal(new Set(seen).size, seen.length, `${order}: no repeats`);
      for (const id of before) assert.ok(seen.includes(id), `${order}: ${id}, there for the whole walk, was seen`);
      for (const id of deletedIds) assert.ok(!seen.includes(id));
    }
  });

  it('deletes by filter in the background, one deletion per user at a time', async () => {
    for (let i = 0; i < 4; i++) await upload(Buffer.from(`BOB-MARK ${i} ${randomBytes(6).toString('hex')}`));
    assert.equal((await stream(bob, '?limit=40')).body.data.length, 4);
    const target = (await stream(bob, '?limit=1')).body.data[0].id;
    const first = await api(s.url, bob, 'DELETE', `${STREAM}?filter=${encodeURIComponent(`entity_id:${target}`)}`);
    assert.equal(first.status, 200);
    const second = await api(s.url, bob, 'DELETE', STREAM);
    assert.ok(isVtError(second, 429, 'TooManyRequests'), JSON.stringify(second.body));
    assert.match(second.body.error.message, /already being deleted/);
    assert.ok(isVtError(await api(s.url, bob, 'DELETE', `${STREAM}?filter=origin:nowhere`), 400, 'BadRequestError'));
    const until = Date.now() + 15_000;
    while ((await stream(bob, '?limit=40')).body.data.length !== 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await stream(bob, '?limit=40')).body.data.length, 3, 'only the filtered one went');
    assert.ok((await stream(alice, '?limit=40')).body.data.length > 0, "alice's stay");
    while (isVtError(await api(s.url, bob, 'DELETE', STREAM), 429, 'TooManyRequests') && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    while ((await stream(bob, '?limit=40')).body.data.length !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal((await stream(bob, '?limit=40')).body.data.length, 0, 'no filter deletes everything of the caller');
    assert.ok((await stream(alice, '?limit=40')).body.data.length > 0);
  });

  it('streams new notifications live, and a reconnecting client gets what it missed, once', async () => {
    const events: { id: string; item: any }[] = [];
    const follow = async (lastEventId?: string, filter = 'tag:alice_rule') => {
      const ac = new AbortController();
      const res = await fetch(`${s.url}${STREAM}?filter=${encodeURIComponent(filter)}`, {
        headers: { 'x-apikey': alice, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        signal: ac.signal,
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      const reader = res.body!.getReader();
      let buf = '';
      const pump = (async () => {
        const dec = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
          if (done) return;
          buf += dec.decode(value, { stream: true });
          let i;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const id = /^id: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (id && data) events.push({ id, item: JSON.parse(data) });
          }
        }
      })();
      return { close: async () => { ac.abort(); await pump; } };
    };
    const waitFor = async (n: number) => {
      const until = Date.now() + 10_000;
      while (events.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(events.length, n);
    };
    const first = await follow();
    await new Promise((r) => setTimeout(r, 300));
    const h1 = await upload(Buffer.from(`ALICE-MARK live 1 ${randomBytes(6).toString('hex')}`));
    await waitFor(1);
    assert.equal(events[0]!.item.id, h1);
    assert.equal(events[0]!.item.context_attributes.hunting_info.rule_name, 'alice_rule');
    await upload(Buffer.from(`BOB-MARK not for alice ${randomBytes(6).toString('hex')}`));
    await first.close();
    // Missed while disconnected:
    const missed = [await upload(Buffer.from(`ALICE-MARK live 2 ${randomBytes(6).toString('hex')}`)), await upload(Buffer.from(`ALICE-MARK live 3 ${randomBytes(6).toString('hex')}`))];
    const second = await follow(events[0]!.id);
    await waitFor(3);
    const h4 = await upload(Buffer.from(`ALICE-MARK live 4 ${randomBytes(6).toString('hex')}`));
    await waitFor(4);
    await second.close();
    assert.deepEqual(events.map((e) => e.item.id), [h1, ...missed, h4], 'in order, nothing twice, nothing of bob');
    const bad = await api(s.url, alice, 'GET', `${STREAM}?filter=origin:x`, undefined, { accept: 'text/event-stream' });
    assert.ok(isVtError(bad, 400, 'BadRequestError'), 'a bad filter is refused before streaming starts');
  });

  it('counts up to count_limit, and an uncapped count is exact on every page', async () => {
    assert.equal((await stream(alice, '?count_limit=2')).body.meta.count, 2);
    const before = (await stream(alice, '?count_limit=10000&limit=1')).body.meta.count as number;
    assert.equal(before, (await stream(alice, '?limit=40')).body.data.length);
    await upload(Buffer.from(`ALICE-MARK counted ${randomBytes(6).toString('hex')}`));
    assert.equal((await stream(alice, '?count_limit=10000&limit=1')).body.meta.count, before + 1);
    assert.equal((await stream(alice, '?count_limit=2')).body.meta.count, 2);
  });

  it('shows each file as it is now: pages read after a new submission carry its new attributes', async () => {
    // Pages reuse serialized files while their stored revision is unchanged: this checks the reuse ends.
    const content = Buffer.from(`ALICE-MARK resubmitted ${randomBytes(6).toString('hex')}`);
    const first = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content, 'first.bin'));
    await waitForAnalysis(s.url, s.adminKey, first.body.data.id);
    const mine = (r: { body: any }) => r.body.data.filter((d: any) => d.id === sha256(content));
    const pages = async () => [
      ...mine(await stream(alice, `?filter=entity_id:${sha256(content)}`)),
      ...mine(await api(s.url, alice, 'GET', '/api/v3/intelligence/hunting_notification_files?limit=40')),
    ];
    const before = await pages();
    assert.equal(before.length, 2);
    for (const item of before) {
      assert.deepEqual(item.attributes.names, ['first.bin']);
      assert.equal(item.attributes.times_submitted, 1);
      assert.equal(item.attributes.type_tag, 'text');
    }
    const again = await api(s.url, bob, 'POST', '/api/v3/files', fileForm(content, 'second.bin'));
    await waitForAnalysis(s.url, bob, again.body.data.id);
    const after = await pages();
    assert.equal(after.length, 4, 'the second submission notified again');
    for (const item of after) {
      assert.deepEqual(item.attributes.names, ['first.bin', 'second.bin']);
      assert.equal(item.attributes.times_submitted, 2);
      assert.equal(item.attributes.unique_sources, 2);
    }
  });

  it('bounds filters on every notification list: too many terms, tags or characters are a BadRequestError', async () => {
    const tags = (n: number) => Array.from({ length: n }, (_, i) => `tag:alice_rule${i === 0 ? '' : `_${i}`}`).join(' ');
    for (const path of [STREAM, '/api/v3/intelligence/hunting_notifications', '/api/v3/intelligence/hunting_notification_files']) {
      const ok = await api(s.url, alice, 'GET', `${path}?filter=${encodeURIComponent(tags(16))}`);
      assert.equal(ok.status, 200, `${path}: 16 tags are fine: ${JSON.stringify(ok.body)}`);
      assert.deepEqual(ok.body.data, [], 'no notification has all of them');
      for (const [what, filter] of [['17 tags', tags(17)], ['33 terms', Array(33).fill('date:2020-01-01+').join(' ')], ['4,097 characters', `tag:${'x'.repeat(4093)}`], ['950 tags', tags(950)]]) {
        const r = await api(s.url, alice, 'GET', `${path}?filter=${encodeURIComponent(filter!)}`);
        assert.ok(isVtError(r, 400, 'BadRequestError'), `${path}: ${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        assert.match(r.body.error.message, /filter|too large/);
      }
    }
  });
});
