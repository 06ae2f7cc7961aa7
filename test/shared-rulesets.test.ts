// SharedRulesets against a real SQLite store: kept for its ttl, dropped on a change of its own or
// of the epoch a page request carries, and never kept when read across a change.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import { SharedRulesets } from '../src/hunting/rulesets/shared-rulesets.js';

describe('SharedRulesets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-shared-'));
  let store: Store;
  let owner: number;
  let editor: number;
  const rulesets: number[] = [];
  before(async () => {
    store = await openStore(`sqlite:${join(dir, 'trawl.db')}`, { writerThread: false });
    owner = (await store.createUser({ username: 'owner', isAdmin: false, apikeyHash: 'h1', createdAt: 1 })).id;
    editor = (await store.createUser({ username: 'editor', isAdmin: false, apikeyHash: 'h2', createdAt: 1 })).id;
    for (const name of ['a', 'b', 'c']) {
      rulesets.push((await store.createRuleset({
        ownerId: owner, name, rules: 'rule a { condition: true }', enabled: true, limit: 100, notificationEmails: [],
        matchObjectType: 'file', tags: [], ruleNames: ['a'], creationDate: 1, modificationDate: 1,
      })).id);
    }
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ids = async (s: SharedRulesets) => (await s.of(editor)).map((r) => r.id);

  it('keeps a user\'s rulesets for its ttl, and drops them on a change through it', async () => {
    const s = new SharedRulesets(store, 60_000);
    assert.deepEqual(await ids(s), []);
    await store.addRulesetEditor(rulesets[0]!, editor);
    assert.deepEqual(await ids(s), [], 'kept: another process\'s change is not seen before the ttl');
    s.changed();
    assert.deepEqual(await ids(s), [rulesets[0]]);
    assert.deepEqual(await s.of(owner), [], 'the owner edits none of their own');
  });

  it('drops what it kept when a page request brings a newer epoch, and reads again after its ttl', async () => {
    const writer = new SharedRulesets(store, 60_000);
    const pageThread = new SharedRulesets(store, 60_000);
    const before = await ids(pageThread);
    await store.addRulesetEditor(rulesets[1]!, editor);
    writer.changed();
    pageThread.sync(writer.epoch);
    assert.deepEqual(await ids(pageThread), [...before, rulesets[1]]);
    const short = new SharedRulesets(store, 30);
    await ids(short);
    await store.removeRulesetEditor(rulesets[1]!, editor);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await ids(short), before);
  });

  it('does not keep what it read across a change', async () => {
    const s = new SharedRulesets(store, 60_000);
    const reading = ids(s); // in flight when the change is announced: what it read may predate it
    s.changed();
    await reading;
    // Had that read been kept, the next would still answer it, without this editor.
    await store.addRulesetEditor(rulesets[2]!, editor);
    assert.ok((await ids(s)).includes(rulesets[2]!), 'read again after the change');
  });
});
