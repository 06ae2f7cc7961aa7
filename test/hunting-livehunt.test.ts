// Livehunt end to end over real HTTP: rulesets matched against every uploaded file by YARA-X on
// the worker threads, notifications with their snippets and tags, read back through every
// notification endpoint by their owner only, rate limits, and changes that apply at once.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, isVtError, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const RULESETS = '/api/v3/intelligence/hunting_rulesets';
const NOTIFICATIONS = '/api/v3/intelligence/hunting_notifications';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('Livehunt', () => {
  let s: TestService;
  let alice: string;
  let bob: string;

  const ruleset = async (key: string, attributes: Record<string, unknown>) => {
    const r = await api(s.url, key, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data as { id: string; attributes: Record<string, unknown> };
  };
  /** Uploads `content` as `key` and waits until its analysis (and hunting) completed. */
  const upload = async (key: string, content: Buffer, name = 'sample.bin') => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, key, r.body.data.id);
    return sha256(content);
  };
  const notificationFiles = async (key: string, user: string, query = '') =>
    api(s.url, key, 'GET', `/api/v3/users/${user}/hunting_notification_files${query}`);

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
  });
  after(async () => s.stop());

  it('notifies the owner of every matching rule, with snippet, tags and source, in each ruleset\'s namespace', async () => {
    const a = await ruleset(alice, {
      name: 'Malicious_Docs',
      enabled: true,
      rules: 'rule test : Dropper apt { strings: $m = "EVIL-MARKER-1" condition: $m }\nrule big { condition: filesize > 100 }',
    });
    const b = await ruleset(bob, { name: 'bobs', enabled: true, rules: 'rule test { strings: $m = "EVIL-MARKER-1" condition: $m }' });
    await ruleset(bob, { name: 'off', enabled: false, rules: 'rule off { strings: $m = "EVIL-MARKER-1" condition: $m }' });

    const content = Buffer.concat([randomBytes(32), Buffer.from('..EVIL-MARKER-1..'), randomBytes(90)]);
    const hash = await upload(s.adminKey, content, 'invoice.doc');

    const mine = await notificationFiles(alice, 'alice', '?limit=40');
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(mine.body.meta.count, 2);
    const byRule = new Map(mine.body.data.map((d: any) => [d.context_attributes.rule_name, d]));
    const hit: any = byRule.get('test');
    assert.equal(hit.type, 'file');
    assert.equal(hit.id, hash);
    assert.equal(hit.links.self, `${s.url}/api/v3/files/${hash}`);
    assert.equal(hit.attributes.sha256, hash);
    assert.deepEqual(hit.attributes.names, ['invoice.doc']);
    const c = hit.context_attributes;
    assert.equal(c.ruleset_id, a.id);
    assert.equal(c.ruleset_name, 'Malicious_Docs');
    assert.deepEqual(c.rule_tags, ['Dropper', 'apt']);
    assert.equal(c.match_in_subfile, false);
    assert.match(c.notification_id, /^\d+$/);
    assert.equal(typeof c.notification_date, 'number');
    assert.match(c.notification_source_key, /^[0-9a-f]{8}$/);
    assert.equal(c.notification_source_country, '');
    assert.deepEqual(c.notification_tags.sort(), ['apt', 'dropper', hash, 'malicious_docs', 'test'].sort());
    // The matched bytes are highlighted in both columns, with a line of context around them.
    assert.match(c.notification_snippet, /\*begin_highlight\*45 56 49 4C/);
    assert.match(c.notification_snippet, /\*begin_highlight\*EVIL-MARK/);
    assert.equal(c.notification_snippet.split('\n').length, 3);
    // A rule without strings matches without a snippet.
    assert.equal((byRule.get('big') as any).context_attributes.notification_snippet, '');

    const theirs = await notificationFiles(bob, 'bob');
    assert.equal(theirs.body.data.length, 1, 'the disabled ruleset does not match');
    assert.equal(theirs.body.data[0].context_attributes.ruleset_id, b.id);
    assert.equal(theirs.body.data[0].context_attributes.rule_name, 'test');
    // Descriptor form of the same relationship.
    const ids = await api(s.url, alice, 'GET', '/api/v3/users/alice/relationships/hunting_notification_files');
    assert.deepEqual(ids.body.data.map((d: any) => Object.keys(d).sort()), [['context_attributes', 'id', 'type'], ['context_attributes', 'id', 'type']]);
  });

  it('shows a notification to its owner only: anyone else gets NotFoundError for it (as for a missing id) and ForbiddenError for the owner\'s relationships', async () => {
    const mine = (await notificationFiles(alice, 'alice')).body.data[0].context_attributes.notification_id as string;
    for (const [method, path] of [
      ['GET', `${NOTIFICATIONS}/${mine}`],
      ['DELETE', `${NOTIFICATIONS}/${mine}`],
      ['GET', `${NOTIFICATIONS}/${mine}/file`],
      ['GET', `${NOTIFICATIONS}/${mine}/relationships/file`],
    ] as const) {
      const r = await api(s.url, bob, method, path);
      assert.ok(isVtError(r, 404, 'NotFoundError'), `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      const missing = await api(s.url, bob, method, path.replace(mine, '999999999'));
      assert.equal(r.body.error.message.replace(mine, 'ID'), missing.body.error.message.replace('999999999', 'ID'), 'told apart from a missing id');
    }
    for (const path of [
      '/api/v3/users/alice/hunting_notification_files',
      '/api/v3/users/alice/relationships/hunting_notification_files',
      '/api/v3/users/alice/hunting_notifications',
      '/api/v3/users/alice/relationships/hunting_notifications',
    ]) {
      const r = await api(s.url, bob, 'GET', path);
      assert.ok(isVtError(r, 403, 'ForbiddenError'), `GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    for (const path of [NOTIFICATIONS, '/api/v3/intelligence/hunting_notification_files', `${NOTIFICATIONS}?filter=owner:alice`]) {
      const r = await api(s.url, bob, 'GET', path);
      assert.equal(r.status, 200);
      assert.ok(r.body.data.every((d: any) => (d.attributes?.ruleset_name ?? d.context_attributes?.ruleset_name) !== 'Malicious_Docs'), path);
    }
    const own = await api(s.url, alice, 'GET', `${NOTIFICATIONS}/${mine}?relationships=file`);
    assert.equal(own.status, 200);
    assert.equal(own.body.data.type, 'hunting_notification');
    assert.equal(own.body.data.relationships.file.data.type, 'file');
    assert.equal((await api(s.url, alice, 'GET', `${NOTIFICATIONS}/${mine}/file`)).body.data.type, 'file');
  });

  it('applies a ruleset change to every upload acknowledged after the change returned', async () => {
    const r = await ruleset(alice, { name: 'moving', enabled: true, rules: 'rule v0 { strings: $a = "MOVING-0-MARK" condition: $a }' });
    for (let i = 1; i <= 4; i++) {
      const p = await api(s.url, alice, 'PATCH', `${RULESETS}/${r.id}`, {
        data: { type: 'hunting_ruleset', attributes: { rules: `rule v${i} { strings: $a = "MOVING-${i}-MARK" condition: $a }` } },
      });
      assert.equal(p.status, 200);
      const hash = await upload(bob, Buffer.from(`xx MOVING-${i}-MARK ${randomBytes(8).toString('hex')}`));
      const got = await notificationFiles(alice, 'alice', `?filter=${hash}`);
      assert.deepEqual(got.body.data.map((d: any) => d.context_attributes.rule_name), [`v${i}`], `change ${i} applied`);
    }
    await api(s.url, alice, 'PATCH', `${RULESETS}/${r.id}`, { data: { attributes: { enabled: false } } });
    const hash = await upload(bob, Buffer.from(`xx MOVING-4-MARK ${randomBytes(8).toString('hex')}`));
    assert.equal((await notificationFiles(alice, 'alice', `?filter=${hash}`)).body.data.length, 0, 'disabled at once');
  });

  it('gives the rules\' external variables the file\'s name, newness and submissions', async () => {
    await ruleset(alice, {
      name: 'variables',
      enabled: true,
      rules: [
        'rule first_seen { strings: $a = "VARS-MARK" condition: $a and new_file and submissions == 1 and file_name == "dropper.exe" and extension == ".exe" }',
        'rule seen_again { strings: $a = "VARS-MARK" condition: $a and not new_file and submissions == 2 and filename == "again.bin" }',
      ].join('\n'),
    });
    const content = Buffer.from(`MZ VARS-MARK ${randomBytes(8).toString('hex')}`);
    const rulesOf = async (hash: string) =>
      ((await notificationFiles(alice, 'alice', `?filter=${hash}&limit=40`)).body.data as any[]).map((d) => d.context_attributes.rule_name).sort();
    const hash = await upload(bob, content, 'dropper.exe');
    assert.deepEqual(await rulesOf(hash), ['first_seen']);
    await upload(bob, content, 'again.bin');
    assert.deepEqual(await rulesOf(hash), ['first_seen', 'seen_again'], 'the second submission is neither new nor named dropper.exe');
  });

  it('caps notifications at the ruleset limit per 24 hours and says it is rate limited', async () => {
    const r = await ruleset(alice, { name: 'capped', enabled: true, limit: 2, rules: 'rule capped { strings: $a = "CAPPED-MARK" condition: $a }' });
    for (let i = 0; i < 4; i++) await upload(bob, Buffer.from(`CAPPED-MARK ${i} ${randomBytes(8).toString('hex')}`));
    const got = await api(s.url, alice, 'GET', `${NOTIFICATIONS}?filter=tag:capped&limit=40`);
    assert.equal(got.body.data.length, 2);
    const after = (await api(s.url, alice, 'GET', `${RULESETS}/${r.id}`)).body.data.attributes;
    assert.equal(after.rate_limited, true);
    // Paused for a few seconds at most so far (test/rate-limit.test.ts checks the arithmetic).
    assert.ok(after.rate_limited_ratio >= 0 && after.rate_limited_ratio < 0.001, String(after.rate_limited_ratio));
  });

  it('filters, orders, pages and deletes notifications', async () => {
    await ruleset(bob, { name: 'Pager', enabled: true, rules: 'rule page_me : paging { strings: $a = "PAGE-ME" condition: $a }' });
    const hashes: string[] = [];
    for (let i = 0; i < 5; i++) hashes.push(await upload(alice, Buffer.from(`PAGE-ME ${i} ${randomBytes(8).toString('hex')}`)));
    const list = async (query: string) => api(s.url, bob, 'GET', `${NOTIFICATIONS}?${query}`);

    // Pages of 2, newest first, through meta.cursor; links.next is absolute and keeps the filter.
    const seen: string[] = [];
    let page = await list('filter=tag:pager&limit=2');
    assert.equal(page.body.meta.count, 5);
    for (;;) {
      seen.push(...page.body.data.map((d: any) => d.id));
      if (!page.body.meta.cursor) break;
      assert.match(page.body.links.next, new RegExp(`^${s.url}/api/v3/intelligence/hunting_notifications\\?.*filter=tag%3Apager`));
      page = await api(s.url, bob, 'GET', page.body.links.next);
    }
    assert.equal(seen.length, 5);
    assert.deepEqual([...seen].sort((a, b) => Number(b) - Number(a)), seen, 'date- is newest first');
    const asc = await list('filter=tag:paging&order=date%2B&limit=40');
    assert.deepEqual(asc.body.data.map((d: any) => d.id), [...seen].reverse());
    assert.equal((await list(`filter=tag:${hashes[0]}`)).body.data.length, 1);
    assert.equal((await list('filter=owner:bob tag:page_me')).body.data.length, 5);
    assert.equal((await list('filter=owner:alice tag:page_me')).body.data.length, 0);
    assert.equal((await list('filter=tag:page_me date:2000-01-01%2B')).body.data.length, 5);
    assert.equal((await list('filter=tag:page_me date:2000-01-01-')).body.data.length, 0);
    const now = Math.floor(Date.now() / 1000);
    assert.equal((await list(`filter=tag:page_me date:${now + 100}%2B`)).body.data.length, 0);
    // vt-py's notification_files example filters by a bare, lower-cased ruleset name.
    assert.equal((await api(s.url, bob, 'GET', '/api/v3/intelligence/hunting_notification_files?filter=pager&limit=40')).body.data.length, 5);

    for (const bad of ['filter=colour:red', 'filter=date:yesterday', 'order=size', 'limit=0', 'cursor=!!!', 'count_limit=x']) {
      assert.ok(isVtError(await list(bad), 400, 'BadRequestError'), bad);
    }

    assert.equal((await api(s.url, bob, 'DELETE', `${NOTIFICATIONS}/${seen[0]}`)).status, 200);
    assert.ok(isVtError(await api(s.url, bob, 'GET', `${NOTIFICATIONS}/${seen[0]}`), 404, 'NotFoundError'));
    assert.equal((await api(s.url, bob, 'DELETE', `${NOTIFICATIONS}?tag=${hashes[1]}`)).status, 200);
    assert.equal((await list('filter=tag:pager')).body.meta.count, 3);
    assert.equal((await api(s.url, bob, 'DELETE', NOTIFICATIONS)).status, 200);
    assert.equal((await list('')).body.data.length, 0);
    assert.ok((await api(s.url, alice, 'GET', NOTIFICATIONS)).body.data.length > 0, "alice's notifications stay");
  });

  it('deleting a ruleset while files are scanned loses and duplicates nothing', async () => {
    const r = await ruleset(alice, { name: 'doomed', enabled: true, rules: 'rule doomed_rule { strings: $a = "DOOMED-MARK" condition: $a }' });
    const files = Array.from({ length: 24 }, (_, i) => Buffer.from(`DOOMED-MARK ${i} ${randomBytes(8).toString('hex')}`));
    const ids: string[] = [];
    const uploads = files.map(async (f, i) => {
      if (i === 12) assert.equal((await api(s.url, alice, 'DELETE', `${RULESETS}/${r.id}`)).status, 200);
      const u = await api(s.url, bob, 'POST', '/api/v3/files', fileForm(f));
      assert.equal(u.status, 200);
      ids.push(u.body.data.id);
    });
    await Promise.all(uploads);
    for (const id of ids) await waitForAnalysis(s.url, bob, id);
    const got = (await api(s.url, alice, 'GET', `${NOTIFICATIONS}?filter=tag:doomed_rule&limit=40`)).body.data;
    const hashes = got.map((n: any) => n.attributes.tags.find((t: string) => /^[0-9a-f]{64}$/.test(t)));
    assert.equal(new Set(hashes).size, hashes.length, 'no file notified twice');
    assert.ok(hashes.every((h: string) => files.some((f) => sha256(f) === h)));
    assert.ok(got.length < files.length, 'files acknowledged after the delete returned were not matched');
    // What was stored before the delete stays readable by its owner.
    for (const n of got) assert.equal((await api(s.url, alice, 'GET', `${NOTIFICATIONS}/${n.id}`)).status, 200);
    const later = await upload(bob, Buffer.from(`DOOMED-MARK late ${randomBytes(8).toString('hex')}`));
    assert.equal((await api(s.url, alice, 'GET', `${NOTIFICATIONS}?filter=tag:${later}`)).body.data.length, 0);
  });

  it('lets editors of a shared ruleset read its notifications', async () => {
    const r = await ruleset(alice, { name: 'shared', enabled: true, rules: 'rule shared_rule { strings: $a = "SHARED-MARK" condition: $a }' });
    await upload(s.adminKey, Buffer.from(`SHARED-MARK ${randomBytes(8).toString('hex')}`));
    const before = await api(s.url, bob, 'GET', `${NOTIFICATIONS}?filter=tag:shared`);
    assert.equal(before.body.data.length, 0);
    await api(s.url, alice, 'POST', `${RULESETS}/${r.id}/relationships/editors`, { data: [{ type: 'user', id: 'bob' }] });
    const shared = await api(s.url, bob, 'GET', `${NOTIFICATIONS}?filter=tag:shared`);
    assert.equal(shared.body.data.length, 1);
    assert.equal((await api(s.url, bob, 'GET', `${NOTIFICATIONS}/${shared.body.data[0].id}`)).status, 200);
    assert.equal((await api(s.url, bob, 'GET', `${NOTIFICATIONS}?filter=owner:alice tag:shared`)).body.data.length, 1);
    // The IoC Stream is read on the page thread, which keeps each user's shared rulesets for a
    // second: a grant or a revocation made through this process must show there at once.
    const stream = async () => (await api(s.url, bob, 'GET', '/api/v3/ioc_stream?filter=notification_tag:shared')).body.data.length;
    assert.equal(await stream(), 1);
    assert.equal((await api(s.url, alice, 'DELETE', `${RULESETS}/${r.id}/relationships/editors/bob`)).status, 200);
    assert.equal(await stream(), 0, 'a revoked editor sees none of them on the stream');
    assert.equal((await api(s.url, bob, 'GET', `${NOTIFICATIONS}?filter=tag:shared`)).body.data.length, 0, 'nor on the list');
    assert.equal((await api(s.url, bob, 'GET', `${NOTIFICATIONS}/${shared.body.data[0].id}`)).status, 404);
    await api(s.url, alice, 'POST', `${RULESETS}/${r.id}/relationships/editors`, { data: [{ type: 'user', id: 'bob' }] });
    assert.equal(await stream(), 1, 'granted again: seen at once');
  });
});
