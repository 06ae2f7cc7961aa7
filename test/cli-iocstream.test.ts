// `trawl iocstream ...` against a real service: list (and ids only), get, delete by id and by
// filter, and follow, which prints new notifications as they are stored.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, runCli, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

describe('trawl iocstream', () => {
  let s: TestService;
  const trawl = (...args: string[]) => runCli([...args, '--url', s.url, '--apikey', s.adminKey]);
  const upload = async (text: string) => {
    const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(`${text} ${randomBytes(6).toString('hex')}`));
    await waitForAnalysis(s.url, s.adminKey, r.body.data.id);
  };
  const lines = (out: string) => out.split('\n').filter(Boolean);

  before(async () => {
    s = await startTestService();
    await api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', {
      data: { type: 'hunting_ruleset', attributes: { name: 'cli_stream', enabled: true, rules: 'rule cli_stream_rule { strings: $a = "CLI-STREAM" condition: $a }' } },
    });
    for (let i = 0; i < 3; i++) await upload(`CLI-STREAM ${i}`);
  });
  after(async () => s.stop());

  it('lists, shows and deletes', async () => {
    const listed = lines((await trawl('iocstream', 'list', '-f', 'tag:cli_stream_rule')).out).map((l) => JSON.parse(l));
    assert.equal(listed.length, 3);
    assert.equal(listed[0].context_attributes.origin, 'hunting');
    const idsOnly = lines((await trawl('iocstream', 'list', '-I', '-n', '2')).out);
    assert.equal(idsOnly.length, 2);
    assert.match(idsOnly[0]!, /^[0-9a-f]{64}$/);
    const nid = listed[0].context_attributes.notification_id;
    const shown = JSON.parse((await trawl('iocstream', 'get', nid)).out);
    assert.equal(shown.type, 'ioc_stream_notification');
    assert.equal((await trawl('iocstream', 'delete', nid)).code, 0);
    assert.equal(lines((await trawl('iocstream', 'list')).out).length, 2);
    const del = await trawl('iocstream', 'delete', '-f', `entity_id:${listed[1].id}`);
    assert.equal(del.code, 0);
    assert.match(del.err, /being deleted/);
    const until = Date.now() + 15_000;
    while (lines((await trawl('iocstream', 'list')).out).length !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.equal(lines((await trawl('iocstream', 'list')).out).length, 1);
    assert.equal((await trawl('iocstream', 'delete')).code, 2, 'deleting everything needs --all');
    const bad = await trawl('iocstream', 'list', '-f', 'origin:elsewhere');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /BadRequestError: origin "elsewhere" is not valid/);
  });

  it('follows new notifications, one JSON line each', async () => {
    const following = trawl('iocstream', 'follow', '-f', 'tag:cli_stream_rule', '-n', '2');
    await new Promise((r) => setTimeout(r, 500));
    await upload('CLI-STREAM live a');
    await upload('CLI-STREAM live b');
    const done = await following;
    assert.equal(done.code, 0, done.err);
    const got = lines(done.out).map((l) => JSON.parse(l));
    assert.equal(got.length, 2);
    assert.ok(got.every((g) => g.context_attributes.hunting_info.rule_name === 'cli_stream_rule'));
  });
});
