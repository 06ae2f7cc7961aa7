// `trawl hunting ruleset ...` against a real service.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, runCli, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

describe('trawl hunting', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService();
  });
  after(async () => s.stop());

  const trawl = (...args: string[]) => runCli([...args, '--url', s.url, '--apikey', s.adminKey]);

  it('adds, lists, enables, updates and deletes rulesets', async () => {
    const file = join(s.dir, 'rules.yar');
    await writeFile(file, 'rule from_cli { strings: $a = "trawl" condition: $a }');
    const added = await trawl('hunting', 'ruleset', 'add', 'cli set', file);
    assert.equal(added.code, 0, added.err);
    const id = JSON.parse(added.out).id as string;
    assert.equal((await trawl('hunting', 'ruleset', 'enable', id)).code, 0);
    const got = JSON.parse((await trawl('hunting', 'ruleset', 'get', id)).out);
    assert.equal(got.attributes.enabled, true);
    assert.deepEqual(got.attributes.rule_names, ['from_cli']);
    const listed = await trawl('hunting', 'ruleset', 'list', '--filter', 'enabled:true');
    assert.match(listed.out, /"cli set"/);
    await writeFile(file, 'rule renamed_rule { condition: true }');
    assert.equal((await trawl('hunting', 'ruleset', 'update', id, file)).code, 0);
    assert.deepEqual(JSON.parse((await trawl('hunting', 'ruleset', 'get', id)).out).attributes.rule_names, ['renamed_rule']);
    await writeFile(file, 'rule broken {');
    const bad = await trawl('hunting', 'ruleset', 'update', id, file);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /InvalidArgumentError/);
    assert.equal((await trawl('hunting', 'ruleset', 'delete', id)).code, 0);
    const gone = await trawl('hunting', 'ruleset', 'get', id);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /NotFoundError/);
    assert.equal((await trawl('hunting', 'nonsense')).code, 2);
  });

  it('lists, shows and deletes notifications', async () => {
    const file = join(s.dir, 'notify.yar');
    await writeFile(file, 'rule cli_hit { strings: $a = "CLI-HIT" condition: $a }');
    const id = JSON.parse((await trawl('hunting', 'ruleset', 'add', 'cli notify', file)).out).id as string;
    assert.equal((await trawl('hunting', 'ruleset', 'enable', id)).code, 0);
    for (const n of [1, 2, 3]) {
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(`CLI-HIT ${n}`));
      await waitForAnalysis(s.url, s.adminKey, r.body.data.id);
    }
    const items = (out: string) => out.trim() ? out.trim().split(/\n(?=\{)/).map((j) => JSON.parse(j)) : [];
    const listed = items((await trawl('hunting', 'notification', 'list', '-f', 'tag:cli_hit')).out);
    assert.equal(listed.length, 3);
    assert.equal(listed[0].type, 'hunting_notification');
    assert.equal(listed[0].relationships.file.data.type, 'file');
    assert.equal(items((await trawl('hunting', 'notification', 'list', '-n', '2')).out).length, 2);
    const shown = items((await trawl('hunting', 'notification', 'get', listed[0].id)).out);
    assert.equal(shown[0].attributes.rule_name, 'cli_hit');
    assert.equal((await trawl('hunting', 'notification', 'delete', listed[0].id)).code, 0);
    assert.equal(items((await trawl('hunting', 'notification', 'list')).out).length, 2);
    const tag = listed[1].attributes.tags.find((t: string) => /^[0-9a-f]{64}$/.test(t));
    assert.equal((await trawl('hunting', 'notification', 'delete', '--with-tag', tag)).code, 0);
    assert.equal(items((await trawl('hunting', 'notification', 'list')).out).length, 1);
    assert.equal((await trawl('hunting', 'notification', 'delete', '--all')).code, 0);
    assert.equal(items((await trawl('hunting', 'notification', 'list')).out).length, 0);
    assert.equal((await trawl('hunting', 'notification', 'delete')).code, 2);
    const missing = await trawl('hunting', 'notification', 'get', '424242');
    assert.equal(missing.code, 1);
    assert.match(missing.err, /NotFoundError/);
  });
});
