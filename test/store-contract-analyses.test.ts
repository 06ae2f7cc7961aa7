// The Store contract for a file's analyses: listSubmissions (files/{id}/analyses) and re-analysis
// submissions (POST files/{id}/analyse, NewSubmission.reanalysis). Run against every
// implementation (test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { hashes, isCode, storeContract, submission } from './helpers/store-contract.js';

storeContract("a file's analyses and re-analyses", ({ fresh }) => {
  it('lists the submissions of one file, newest first, in pages below an id', async () => {
    const s = await fresh();
    const mine = [];
    for (let i = 0; i < 5; i++) {
      mine.push(await s.addSubmission(submission('listed', { date: 1_700_000_000 + i, name: `n${i}` })));
      await s.addSubmission(submission(`other-${i}`));
    }
    const all = await s.listSubmissions(hashes('listed').sha256, null, 10);
    assert.deepEqual(all.map((x) => x.analysisId), mine.map((x) => x.analysisId).reverse());
    assert.deepEqual(all[0], await s.getSubmission(mine[4]!.id), 'the same records getSubmission reads');
    const first = await s.listSubmissions(hashes('listed').sha256.toUpperCase(), null, 2);
    assert.deepEqual(first.map((x) => x.id), [mine[4]!.id, mine[3]!.id]);
    const next = await s.listSubmissions(hashes('listed').sha256, first[1]!.id, 2);
    assert.deepEqual(next.map((x) => x.id), [mine[2]!.id, mine[1]!.id]);
    assert.deepEqual(await s.listSubmissions(hashes('never').sha256, null, 10), []);
  });

  it("re-analyses a stored file without changing its names, dates or counts, in the file's corpus", async () => {
    const s = await fresh();
    const up = await s.addSubmission(submission('again', { name: 'a.exe', sourceKey: 'u1', date: 100 }));
    const before = await s.getFile(hashes('again').sha256);
    const re = await s.addSubmission(submission('again', { userId: 2, sourceKey: 'u2', date: 500, corpus: 'goodware', reanalysis: true }));
    assert.equal(re.status, 'queued');
    assert.equal(re.corpus, 'main', "the file's corpus, not the one asked for");
    assert.equal('reanalysis' in re, false, 'the record is a submission like any other');
    assert.deepEqual(await s.getSubmission(re.id), re);
    const after = await s.getFile(hashes('again').sha256);
    assert.deepEqual(
      { names: after?.names, first: after?.firstSubmissionDate, last: after?.lastSubmissionDate, times: after?.timesSubmitted, sources: after?.uniqueSources },
      { names: before?.names, first: before?.firstSubmissionDate, last: before?.lastSubmissionDate, times: before?.timesSubmitted, sources: before?.uniqueSources },
    );
    const jobs = await s.claimJobs('w', 10, 60_000);
    assert.deepEqual(jobs.map((j) => j.payload.submissionId).sort(), [up.id, re.id].sort(), 'each has its analyze job');
    assert.deepEqual((await s.listSubmissions(hashes('again').sha256, null, 10)).map((x) => x.id), [re.id, up.id]);

    await s.addSubmission(submission('good', { corpus: 'goodware' }));
    const g = await s.addSubmission(submission('good', { reanalysis: true }));
    assert.equal(g.corpus, 'goodware', 'a goodware file stays out of the hunted corpus');
  });

  it('refuses to re-analyse a file it does not hold, leaving nothing behind', async () => {
    const s = await fresh();
    await assert.rejects(s.addSubmission(submission('absent', { reanalysis: true })), isCode('NotFoundError'));
    assert.equal(await s.getFile(hashes('absent').sha256), null);
    assert.equal(await s.pendingJobs(), 0);
  });
});
