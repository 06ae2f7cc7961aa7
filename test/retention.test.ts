// Retention: notifications older than the configured age are deleted, newer ones kept (on a real
// SQLite store; the store contract covers the queries on PostgreSQL too).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { openStore } from '../src/store/open-store.js';
import { Retention } from '../src/stream/retention.js';

describe('retention', () => {
  it('deletes notifications older than the retention period, oldest first, and keeps the rest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trawl-retention-'));
    const store = await openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    try {
      const now = 1_800_000_000;
      const r = await store.createRuleset({
        ownerId: 1, name: 'r', rules: 'rule a { condition: true }', enabled: true, limit: 1000, notificationEmails: [],
        matchObjectType: 'file', tags: [], ruleNames: ['a'], creationDate: now, modificationDate: now,
      });
      const ages = [40, 31, 29, 1].map((d) => now - d * 86_400);
      for (const [i, date] of ages.entries()) {
        const sub = await store.addSubmission({
          analysisId: randomUUID(), sha256: String(i).repeat(64), sha1: String(i).repeat(40), md5: String(i).repeat(32), size: 1,
          userId: 1, date, name: null, sourceKey: 'k', sourceCountry: '', password: null,
        });
        const [job] = await store.claimJobs('w', 1, 60_000);
        await store.completeAnalysis(job!.id, sub.id, { magic: '', typeDescription: '', typeTag: '', typeTags: [], typeExtension: '', tags: [] }, date, [{
          ownerId: 1, rulesetId: r.id, rulesetName: 'r', date, sha256: sub.sha256, submissionId: sub.id, ruleName: 'a', ruleTags: [],
          snippet: null, matchInSubfile: false, sourceKey: 'k', sourceCountry: '', tags: ['a'],
        }]);
      }
      const q = { scope: { ownerIds: [1], rulesetIds: [] }, order: 'asc' as const, limit: 10 };
      assert.equal((await store.listNotifications(q)).length, 4);
      const retention = new Retention(store, 30, pino({ level: 'silent' }));
      assert.equal(await retention.sweep(now), 2);
      assert.deepEqual((await store.listNotifications(q)).map((n) => n.date), ages.slice(2));
      assert.equal(await retention.sweep(now), 0);
      assert.equal(await new Retention(store, 0, pino({ level: 'silent' })).sweep(now + 1000 * 86_400), 0, '0 keeps everything');
      assert.equal((await store.listNotifications(q)).length, 2);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
