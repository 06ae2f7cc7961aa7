// The Store contract: community rulesets (owned by the system account) and files' verdicts from
// them, written by an analysis and merged by a late scan. Run against every implementation.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { COMMUNITY_OWNER_ID, type CommunityMatch } from '../src/model/records.js';
import { analysed, ruleset, storeContract, submission } from './helpers/store-contract.js';

const match = (rulesetId: number, ruleName: string): CommunityMatch => ({
  ruleName, rulesetId, rulesetName: `set${rulesetId}`, source: 'https://example.org/rules', author: 'a', matchInSubfile: false,
});

storeContract('community rulesets and verdicts', ({ fresh }) => {
  it('keeps a community ruleset\'s collection and meta, lists it for the system account only, and marks its source', async () => {
    const s = await fresh();
    const community = { source: 'https://example.org/rules', rules: { a: { author: 'Jane', description: 'finds a' } } };
    const c = await s.createRuleset(ruleset(COMMUNITY_OWNER_ID, 'apt/a.yar', { limit: 0, community }));
    const l = await s.createRuleset(ruleset(1, 'mine'));
    assert.deepEqual((await s.getRuleset(c.id))?.community, community);
    assert.equal((await s.getRuleset(l.id))?.community, undefined, 'a Livehunt ruleset has none');
    assert.deepEqual((await s.listRulesetsOf(COMMUNITY_OWNER_ID)).map((r) => r.id), [c.id]);
    assert.deepEqual((await s.listRulesetsOf(1)).map((r) => r.id), [l.id]);
    assert.deepEqual((await s.enabledRulesetSources()).map((x) => [x.id, x.community === true]), [[c.id, true], [l.id, false]]);
    const changed = { source: 'https://example.org/rules', rules: {} };
    assert.deepEqual((await s.updateRuleset(c.id, { community: changed }))?.community, changed);
  });

  it('stores an analysis\'s verdict with the file, clears it with null, and merges a late scan\'s', async () => {
    const s = await fresh();
    const scan = { date: 1_700_000_500, matches: [match(7, 'r7'), match(8, 'r8')] };
    const { sub } = await analysed(s, 'community verdict', () => [], { communityScan: scan });
    const f = await s.getFile(sub.sha256);
    assert.deepEqual(f?.communityScan, scan);
    const { sub: other } = await analysed(s, 'no community rules', () => []);
    assert.equal((await s.getFile(other.sha256))?.communityScan, undefined, 'never scanned with community rules');

    // A late scan that rescanned ruleset 8 (nothing now) and 9 (a match) keeps 7's match.
    const late = async (rescanned: number[] | 'all', matches: CommunityMatch[]) => {
      await s.enqueueJob('late-scan', { submissionId: sub.id });
      const [job] = await s.claimJobs('w', 1, 60_000);
      await s.completeJob(job!.id, [], { community: { sha256: sub.sha256, rescanned, scan: { date: 1_700_000_900, matches } } });
    };
    await late([8, 9], [match(9, 'r9')]);
    const merged = await s.getFile(sub.sha256);
    assert.deepEqual(merged?.communityScan, { date: 1_700_000_900, matches: [match(7, 'r7'), match(9, 'r9')] });
    assert.ok((merged!.revision ?? 0) > (f!.revision ?? 0), 'a new revision: cached File objects are rebuilt');
    await late('all', []);
    assert.deepEqual((await s.getFile(sub.sha256))?.communityScan, { date: 1_700_000_900, matches: [] });

    // The next analysis without community rules enabled says so: no verdict.
    await s.addSubmission(submission('community verdict'));
    const [job] = await s.claimJobs('w', 1, 60_000);
    const plain = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
    await s.completeAnalysis(job!.id, Number(job!.payload.submissionId), plain, 1_700_001_000, [], { communityScan: null });
    assert.equal((await s.getFile(sub.sha256))?.communityScan, undefined);
  });
});
