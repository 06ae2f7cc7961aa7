// The smaller holes an audit found, each closed: two `file` parts in one upload, an editor
// renaming a ruleset onto a name its owner uses, ruleset names and tags that are not printable
// text, and a ruleset notifying thousands of addresses.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MAX_EMAILS } from '../src/hunting/rulesets/ruleset-attributes.js';
import { api, isVtError, newUser, startTestService, type TestService } from './helpers/service.js';

const RULESETS = '/api/v3/intelligence/hunting_rulesets';
const RULES = 'rule small_abuse { strings: $a = "SMALL-ABUSE" condition: $a }';

describe('small abuses', () => {
  let s: TestService;
  let owner: string;
  let editor: string;
  before(async () => {
    s = await startTestService();
    owner = await newUser(s, 'olga');
    editor = await newUser(s, 'ed');
  });
  after(async () => s.stop());

  const create = (key: string, attributes: Record<string, unknown>) => api(s.url, key, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { rules: RULES, ...attributes } } });

  it('refuses an upload with two "file" parts instead of keeping one', async () => {
    const form = new FormData();
    form.append('file', new Blob([randomBytes(100)]), 'one.bin');
    form.append('file', new Blob([randomBytes(100)]), 'two.bin');
    const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', form);
    assert.ok(isVtError(r, 400, 'BadRequestError'), JSON.stringify(r.body));
    assert.match(r.body.error.message, /one file per request/);
  });

  it('keeps ruleset names unique per owner when an editor renames', async () => {
    assert.equal((await create(owner, { name: 'taken' })).status, 200);
    const shared = await create(owner, { name: 'shared_one' });
    const id = shared.body.data.id as string;
    assert.equal((await api(s.url, owner, 'POST', `${RULESETS}/${id}/relationships/editors`, { data: [{ type: 'user', id: 'ed' }] })).status, 200);
    const r = await api(s.url, editor, 'PATCH', `${RULESETS}/${id}`, { data: { type: 'hunting_ruleset', attributes: { name: 'taken' } } });
    assert.ok(isVtError(r, 409, 'AlreadyExistsError'), JSON.stringify(r.body));
    // The editor's own ruleset names do not count against the owner's.
    assert.equal((await create(editor, { name: 'eds_own' })).status, 200);
    assert.equal((await api(s.url, editor, 'PATCH', `${RULESETS}/${id}`, { data: { type: 'hunting_ruleset', attributes: { name: 'eds_own' } } })).status, 200);
  });

  it('refuses names and tags with control characters or unpaired surrogates', async () => {
    for (const name of ['nul\u0000name', 'new\nline', 'lone\ud800', '\udc00lone']) {
      const r = await create(owner, { name });
      assert.ok(isVtError(r, 400, 'InvalidArgumentError'), `${JSON.stringify(name)}: ${JSON.stringify(r.body)}`);
    }
    assert.ok(isVtError(await create(owner, { name: 'tagged', tags: ['ok', 'bad\u0000'] }), 400, 'InvalidArgumentError'));
    assert.equal((await create(owner, { name: 'fine — ünïcode 😀' })).status, 200);
  });

  it(`caps notification_emails at ${MAX_EMAILS} addresses`, async () => {
    const emails = (n: number) => Array.from({ length: n }, (_, i) => `soc${i}@example.org`);
    assert.equal((await create(owner, { name: 'mail_ok', notification_emails: emails(MAX_EMAILS) })).status, 200);
    const r = await create(owner, { name: 'mail_many', notification_emails: emails(10_000) });
    assert.ok(isVtError(r, 400, 'InvalidArgumentError'), JSON.stringify(r.body).slice(0, 300));
    assert.match(r.body.error.message, new RegExp(`at most ${MAX_EMAILS}`));
  });
});
