// A file the content index holds already (submitted again, or met again inside another archive)
// has its trigrams taken once: the analyses after the first skip them, counted in /metrics
// (trawl_content_index_grams_total), and the index keeps answering for it.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('content index: files submitted again', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService();
  });
  after(() => s?.stop());

  const upload = async (content: Buffer, name: string) => {
    const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, s.adminKey, r.body.data.id, 30_000);
  };
  const grams = async () => {
    const r = await fetch(`${s.url}/metrics`);
    assert.equal(r.status, 200);
    const text = await r.text();
    const v = (outcome: string) => Number(new RegExp(`^trawl_content_index_grams_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0);
    return { taken: v('taken'), skipped: v('skipped') };
  };
  const found = async (literal: string) => {
    const r = await api(s.url, s.adminKey, 'GET', `/api/v3/intelligence/search?query=${encodeURIComponent(`content:"${literal}"`)}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.map((o: { id: string }) => o.id).sort();
  };

  it('takes the trigrams of a file once, and skips them when it is submitted again or met in another archive', async () => {
    const member = Buffer.from('RESUBMIT-MEMBER-MARK: a file inside two archives and submitted alone');
    const zip = makeZip({ 'member.txt': member, 'other.txt': 'RESUBMIT-OTHER-MARK only in the first archive' });
    const g0 = await grams();
    await upload(zip, 'first.zip');
    const g1 = await grams();
    // The archive and its two members, new to the index.
    assert.deepEqual({ taken: g1.taken - g0.taken, skipped: g1.skipped - g0.skipped }, { taken: 3, skipped: 0 });
    const pending = await s.store.countPendingGrams();

    await upload(zip, 'first-again.zip');
    const g2 = await grams();
    assert.deepEqual({ taken: g2.taken - g1.taken, skipped: g2.skipped - g1.skipped }, { taken: 0, skipped: 3 });
    await upload(member, 'member.txt');
    await upload(makeZip({ 'same.txt': member, 'new.txt': 'RESUBMIT-NEW-MARK in the second archive' }), 'second.zip');
    const g3 = await grams();
    // The member alone, then in a new archive (new, with its other member new): skipped once each.
    assert.deepEqual({ taken: g3.taken - g2.taken, skipped: g3.skipped - g2.skipped }, { taken: 2, skipped: 2 });
    // Nothing taken again was recorded (the upkeep may have moved pending rows into a segment meanwhile).
    const after = await s.store.countPendingGrams();
    assert.ok(after.files <= pending.files + 2, `${after.files} pending rows after ${pending.files} and two new files`);
    // And the index still answers for every one of them.
    assert.deepEqual(await found('RESUBMIT-MEMBER-MARK'), [sha256(member)]);
    assert.deepEqual(await found('RESUBMIT-NEW-MARK'), [sha256(Buffer.from('RESUBMIT-NEW-MARK in the second archive'))]);
  });
});
