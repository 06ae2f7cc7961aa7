// The Store contract: the content index's rows (ContentIndexStore): each file's state, the pending
// trigram lists, and segments added, retired and dropped. Run against every implementation
// (test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { Store } from '../src/store/store.js';
import { hashes, storeContract, submission } from './helpers/store-contract.js';

const T = 1_700_000_000;
const plain = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
const grams = (...v: number[]) => Uint8Array.from(v);

/** Stores `contents` as submissions; `analysed` ones get their analysis completed (with `indexed`). */
async function files(s: Store, contents: string[], analysed = true): Promise<string[]> {
  const out: string[] = [];
  for (const c of contents) {
    const sub = await s.addSubmission(submission(c, { date: T }));
    out.push(sub.sha256);
    if (!analysed) continue;
    const job = (await s.claimJobs('w', 10, 60_000)).find((j) => j.payload.submissionId === sub.id)!;
    await s.completeAnalysis(job.id, sub.id, plain, T, []);
  }
  return out;
}

storeContract('the content index', ({ fresh }) => {
  it('records each file once (grams pending, or not indexable), with the analysis or after it', async () => {
    const s = await fresh();
    const [a, b, c, d] = await files(s, ['a', 'b', 'c', 'd']);
    assert.deepEqual(await s.listFilesToIndex(null, 10), [a, b, c, d].sort().map((sha256) => ({ sha256, size: 1 })));
    assert.equal(await s.indexFiles([{ sha256: a!, grams: grams(1, 2) }, { sha256: b!, grams: null }]), 2);
    // Indexed already: kept as it was.
    assert.equal(await s.indexFiles([{ sha256: a!, grams: grams(9) }, { sha256: b!, grams: grams(9) }]), 0);
    const pending = await s.listPendingGrams(0, 10);
    assert.deepEqual(pending.map((p) => [p.sha256, [...p.grams]]), [[a, [1, 2]]]);
    assert.deepEqual(await s.countPendingGrams(), { files: 1, bytes: 2 });
    // Indexed or not indexable: an analysis again need not take their trigrams (files not stored are not).
    assert.deepEqual((await s.listIndexedFiles([c!, a!, hashes('never stored').sha256, b!])).sort(), [a, b].sort());
    assert.deepEqual(await s.listIndexedFiles([]), []);
    // Not indexable files stay candidates of every search, never to be indexed again.
    assert.deepEqual(await s.listUnindexedFiles(null, 10), [b, c, d].sort());
    assert.deepEqual((await s.listFilesToIndex(null, 10)).map((f) => f.sha256), [c, d].sort());
    const [first] = [c, d].sort();
    assert.deepEqual(await s.listUnindexedFiles(first!, 10), [b, c, d].sort().filter((x) => x! > first!));
    // With the analysis, in its transaction: subfiles too.
    const sub = await s.addSubmission(submission('e', { date: T }));
    const job = (await s.claimJobs('w', 10, 60_000)).find((j) => j.payload.submissionId === sub.id)!;
    const member = hashes('member of e');
    await s.completeAnalysis(job.id, sub.id, plain, T, [], {
      subfiles: [{ ...member, analysis: plain, parents: [{ sha256: sub.sha256, name: 'm' }] }],
      indexed: [{ sha256: sub.sha256, grams: grams(3) }, { sha256: member.sha256, grams: grams(4) }, { sha256: member.sha256, grams: grams(4) }],
    });
    assert.deepEqual((await s.listPendingGrams(pending[0]!.seq, 10)).map((p) => p.sha256).sort(), [sub.sha256, member.sha256].sort());
    // Files waiting for their analysis are left to it.
    const [waiting] = await files(s, ['f'], false);
    assert.ok(!(await s.listFilesToIndex(null, 10)).some((f) => f.sha256 === waiting));
    assert.ok((await s.listUnindexedFiles(null, 10)).includes(waiting!));
  });

  it('adds segments that take pending files out, retires those they replace, and drops them', async () => {
    const s = await fresh();
    const shas = await files(s, ['p', 'q', 'r']);
    await s.indexFiles(shas.map((sha256, i) => ({ sha256, grams: grams(i) })));
    const pending = await s.listPendingGrams(0, 10);
    const seg1 = await s.addIndexSegment({ blob: 'a'.repeat(64), files: 2, bytes: 100, level: 0 }, pending.slice(0, 2).map((p) => p.seq), [], T);
    assert.deepEqual((await s.listPendingGrams(0, 10)).map((p) => p.sha256), [pending[2]!.sha256]);
    const seg2 = await s.addIndexSegment({ blob: 'b'.repeat(64), files: 1, bytes: 50, level: 0 }, [pending[2]!.seq], [], T + 1);
    assert.deepEqual(await s.countPendingGrams(), { files: 0, bytes: 0 });
    assert.deepEqual((await s.listIndexSegments()).map((x) => [x.blob[0], x.files, x.bytes, x.level, x.createdAt, x.retiredAt]), [['a', 2, 100, 0, T, null], ['b', 1, 50, 0, T + 1, null]]);
    const merged = await s.addIndexSegment({ blob: 'c'.repeat(64), files: 3, bytes: 120, level: 1 }, [], [seg1.id, seg2.id], T + 10);
    assert.deepEqual((await s.listIndexSegments()).map((x) => x.id), [merged.id]);
    assert.deepEqual((await s.listIndexSegments(T + 10)).map((x) => x.id), []);
    assert.deepEqual((await s.listIndexSegments(T + 11)).map((x) => [x.id, x.retiredAt]), [[seg1.id, T + 10], [seg2.id, T + 10]]);
    await s.dropIndexSegments([seg1.id, seg2.id]);
    assert.deepEqual(await s.listIndexSegments(T + 100), []);
    assert.deepEqual((await s.listIndexSegments()).map((x) => x.blob[0]), ['c']);
  });

  it('starts over: segments retired, pending rows dropped, indexed files not indexed, the epoch moved on', async () => {
    const s = await fresh();
    const shas = await files(s, ['s', 't', 'u', 'v']);
    await s.indexFiles([{ sha256: shas[0]!, grams: grams(1) }, { sha256: shas[1]!, grams: grams(2) }, { sha256: shas[2]!, grams: null }]);
    const pending = await s.listPendingGrams(0, 10);
    await s.addIndexSegment({ blob: 'd'.repeat(64), files: 1, bytes: 10, level: 0 }, [pending[0]!.seq], [], T);
    const epoch = await s.contentIndexEpoch();
    assert.equal(await s.resetContentIndex(T + 5), 2, 'the two indexed files (one in a segment, one pending)');
    assert.equal(await s.contentIndexEpoch(), epoch + 1);
    assert.deepEqual(await s.listIndexSegments(), []);
    assert.deepEqual((await s.listIndexSegments(T + 6)).map((x) => [x.blob[0], x.retiredAt]), [['d', T + 5]]);
    assert.deepEqual(await s.countPendingGrams(), { files: 0, bytes: 0 });
    // Every file is a candidate of every search again; the catch-up lists all but the one not indexable.
    assert.deepEqual(await s.listUnindexedFiles(null, 10), [...shas].sort());
    assert.deepEqual((await s.listFilesToIndex(null, 10)).map((f) => f.sha256), shas.filter((x) => x !== shas[2]).sort());
    assert.equal(await s.resetContentIndex(T + 6), 0);
    assert.equal(await s.contentIndexEpoch(), epoch + 2);
  });
});
