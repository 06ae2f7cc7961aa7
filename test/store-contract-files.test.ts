// The Store contract: submissions, files, subfiles and the feed of changed files. Run against every
// implementation (SQLite with and without its writer thread, PostgreSQL;
// test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sql } from 'kysely';
import { hashes, submission, isCode, storeContract } from './helpers/store-contract.js';

storeContract('submissions, files, subfiles and the feed of changed files', ({ kind, backend, openAt, fresh, open }) => {
  it('addSubmission maintains names, times_submitted and unique_sources', async () => {
    const s = await fresh();
    const first = await s.addSubmission(submission('x', { userId: 1, name: 'a.exe', sourceKey: 'u1', date: 200 }));
    assert.equal(first.status, 'queued');
    await s.addSubmission(submission('x', { userId: 2, name: 'b.exe', sourceKey: 'u2', date: 100 }));
    let f = await s.getFile(hashes('x').sha256);
    assert.equal(f?.timesSubmitted, 2);
    assert.equal(f?.uniqueSources, 2);
    assert.deepEqual(f?.names, ['a.exe', 'b.exe']);
    assert.equal(f?.firstSubmissionDate, 100);
    assert.equal(f?.lastSubmissionDate, 200);
    assert.equal(f?.lastAnalysisDate, undefined);
    assert.equal(f?.magic, undefined);

    await s.addSubmission(submission('x', { userId: 1, name: 'a.exe', sourceKey: 'u1', date: 300 }));
    await s.addSubmission(submission('x', { userId: 1, name: null, sourceKey: 'u1', date: 250 }));
    f = await s.getFile(hashes('x').sha256);
    assert.equal(f?.timesSubmitted, 4);
    assert.equal(f?.uniqueSources, 2);
    assert.deepEqual(f?.names, ['a.exe', 'b.exe']);
    assert.equal(f?.lastSubmissionDate, 300);
    assert.equal(await s.pendingJobs(), 4);
  });

  it('stores submissions and finds them by id and analysis id', async () => {
    const s = await fresh();
    const input = submission('y', { name: 'y.bin', password: 'infected', sourceCountry: '' });
    const rec = await s.addSubmission(input);
    assert.deepEqual(rec, { ...input, id: rec.id, status: 'queued', corpus: 'main' });
    assert.deepEqual(await s.getSubmission(rec.id), rec);
    assert.deepEqual(await s.getSubmissionByAnalysisId(input.analysisId), rec);
    assert.equal(await s.getSubmission(rec.id + 100), null);
    assert.equal(await s.getSubmissionByAnalysisId('unknown'), null);
    await s.setSubmissionStatus(rec.id, 'in-progress');
    assert.equal((await s.getSubmission(rec.id))?.status, 'in-progress');
    await s.setSubmissionStatus(rec.id, 'queued');
    const [job] = await s.claimJobs('w', 1, 60_000);
    assert.equal(job?.payload.submissionId, rec.id);
    assert.equal((await s.getSubmission(rec.id))?.status, 'in-progress', 'claiming the job puts its analysis in progress');
    await assert.rejects(s.addSubmission({ ...input }), isCode('AlreadyExistsError'));
    assert.equal((await s.getFile(input.sha256))?.timesSubmitted, 1, 'a rejected write leaves nothing behind');
  });

  it('getFile finds by sha256, sha1 and md5 in either case; unknown is null', async () => {
    const s = await fresh();
    const h = hashes('z');
    await s.addSubmission(submission('z'));
    for (const hash of [h.sha256, h.sha1, h.md5]) {
      assert.equal((await s.getFile(hash))?.sha256, h.sha256);
      assert.equal((await s.getFile(hash.toUpperCase()))?.sha256, h.sha256);
    }
    assert.equal((await s.getFile(h.sha256))?.size, 1);
    assert.equal(await s.getFile(hashes('other').sha256), null);
    assert.equal(await s.getFile(hashes('other').md5), null);
    assert.equal(await s.getFile('abc'), null);
  });

  it('commits 200 concurrent addSubmission calls, all durable and distinct', async () => {
    const url = await backend.freshUrl();
    const s = await openAt(url);
    const inputs = Array.from({ length: 200 }, (_, i) => submission(`c${i % 10}`, { sourceKey: `s${i % 3}` }));
    const recs = await Promise.all(inputs.map((i) => s.addSubmission(i)));
    assert.equal(new Set(recs.map((r) => r.id)).size, 200);
    await s.close();
    open.length = 0;
    const again = await openAt(url);
    for (const i of inputs) assert.equal((await again.getSubmissionByAnalysisId(i.analysisId))?.sha256, i.sha256);
    const f = await again.getFile(hashes('c0').sha256);
    assert.equal(f?.timesSubmitted, 20);
    assert.equal(f?.uniqueSources, 3);
    assert.equal(await again.pendingJobs(), 200);
  });

  it('rejects only the bad write of a concurrent batch', async () => {
    const s = await fresh();
    const dup = submission('d');
    await s.addSubmission(dup);
    const results = await Promise.allSettled([
      s.addSubmission(submission('d1')), s.addSubmission({ ...dup }), s.addSubmission(submission('d2')),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    isCode('AlreadyExistsError')((results[1] as PromiseRejectedResult).reason);
    assert.equal((await s.getFile(hashes('d').sha256))?.timesSubmitted, 1);
  });

  it('completeAnalysis stores subfiles, bundle_info and links both ways, pages them, and keeps submitted files submitted', async () => {
    const s = await fresh();
    const known = await s.addSubmission(submission('already uploaded', { name: 'direct.txt' }));
    const sub = await s.addSubmission(submission('the archive', { name: 'a.zip' }));
    const jobs = await s.claimJobs('w', 2, 60_000);
    const job = jobs.find((j) => Number(j.payload.submissionId) === sub.id)!;
    const plain = { magic: 'ASCII text', typeDescription: 'Text', typeTag: 'text', typeTags: ['text'], typeExtension: 'txt', tags: ['text'] };
    const inner = hashes('inner zip');
    const bundle = { type: 'ZIP', num_children: 3, uncompressed_size: 42, extensions: { txt: 2, zip: 1 }, file_types: { Text: 2, ZIP: 1 }, error: 'stopped' };
    const leaf = (content: string, parents: { sha256: string; name: string }[]) => ({ ...hashes(content), analysis: plain, parents });
    await s.completeAnalysis(job.id, sub.id, { ...plain, bundleInfo: bundle }, 1_700_000_600, [], {
      subfiles: [
        { ...inner, analysis: { ...plain, typeTag: 'zip', bundleInfo: { ...bundle, num_children: 1 } }, parents: [{ sha256: sub.sha256, name: 'dir/inner.zip' }] },
        leaf('already uploaded', [{ sha256: sub.sha256, name: 'copy.txt' }, { sha256: inner.sha256, name: 'x/again.txt' }]),
        leaf('only inside', [{ sha256: inner.sha256, name: 'deep.txt' }]),
      ],
    });
    assert.deepEqual((await s.getFile(sub.sha256))?.bundleInfo, bundle);
    const innerFile = await s.getFile(inner.sha256);
    assert.equal(innerFile?.bundleInfo?.num_children, 1);
    assert.deepEqual(innerFile?.names, ['inner.zip']);
    assert.equal(innerFile?.timesSubmitted, 0);
    assert.equal(innerFile?.firstSubmissionDate, 1_700_000_600);
    assert.equal(innerFile?.lastAnalysisDate, 1_700_000_600);
    const again = await s.getFile(known.sha256);
    assert.equal(again?.timesSubmitted, 1, 'found inside an archive: still submitted once');
    assert.deepEqual(again?.names, ['direct.txt', 'copy.txt', 'again.txt']);
    assert.equal(again?.bundleInfo, undefined);

    const kids = await s.listFileLinks(sub.sha256, 'children', null, 10);
    assert.deepEqual(kids.map((k) => k.file.sha256), [known.sha256, inner.sha256].sort());
    assert.deepEqual(kids.map((k) => k.name), kids.map((k) => (k.file.sha256 === inner.sha256 ? 'dir/inner.zip' : 'copy.txt')));
    const [first] = await s.listFileLinks(sub.sha256, 'children', null, 1);
    assert.deepEqual((await s.listFileLinks(sub.sha256, 'children', first!.file.sha256, 10)).map((k) => k.file.sha256), [kids[1]!.file.sha256]);
    const parents = await s.listFileLinks(known.sha256, 'parents', null, 10);
    assert.deepEqual(parents.map((p) => p.file.sha256), [sub.sha256, inner.sha256].sort());
    assert.deepEqual(await s.listFileLinks(hashes('unrelated').sha256, 'children', null, 10), []);
  });

  it('names every inserted and updated file in the feed of changed files, once, and says when too many changed', async () => {
    const s = await fresh();
    const start = await s.fileChangesSince(null, 10);
    assert.deepEqual(start.changes, []);
    const poll = async (cursor: string, max = 10) => {
      const r = await s.fileChangesSince(cursor, max);
      return { cursor: r.cursor, changed: r.changes && Object.fromEntries(r.changes.map((c) => [c.sha256, c.revision])) };
    };
    const a = await s.addSubmission(submission('a'));
    const b = await s.addSubmission(submission('b'));
    let p = await poll(start.cursor);
    assert.deepEqual(p.changed, { [a.sha256]: 0, [b.sha256]: 0 });
    assert.deepEqual((await poll(p.cursor)).changed, {}, 'nothing twice');
    // An analysis with a subfile: one update and one insert.
    const [job] = (await s.claimJobs('w', 2, 60_000)).filter((j) => j.payload.submissionId === a.id);
    const plain = { magic: 'ASCII text', typeDescription: 'Text', typeTag: 'text', typeTags: ['text'], typeExtension: 'txt', tags: ['text'] };
    const inner = hashes('inner');
    await s.completeAnalysis(job!.id, a.id, plain, 1_700_000_600, [], { subfiles: [{ ...inner, analysis: plain, parents: [{ sha256: a.sha256, name: 'x' }] }] });
    const before = p.cursor;
    p = await poll(p.cursor);
    assert.deepEqual(p.changed, { [a.sha256]: (await s.getFile(a.sha256))!.revision, [inner.sha256]: 0 });
    assert.ok(p.changed![a.sha256]! > 0);
    // Submitted again: an update. A cursor can be read from again (another process's, or after a failure).
    await s.addSubmission(submission('b', { name: 'again' }));
    assert.deepEqual((await poll(p.cursor)).changed, { [b.sha256]: (await s.getFile(b.sha256))!.revision });
    assert.deepEqual(Object.keys((await poll(before)).changed!).sort(), [a.sha256, b.sha256, inner.sha256].sort());
    const tooMany = await poll(before, 2);
    assert.equal(tooMany.changed, null, 'more than asked');
    assert.deepEqual((await poll(tooMany.cursor)).changed, {}, 'the cursor given with it goes on from now');
  });

  it('feeds a change committed after later ones have been read', { skip: kind !== 'postgres' && 'PostgreSQL commits in any order; SQLite writers are serial' }, async () => {
    const url = await backend.freshUrl();
    const s = await openAt(url);
    const a = await s.addSubmission(submission('a'));
    const b = await s.addSubmission(submission('b'));
    let cursor = (await s.fileChangesSince(null, 10)).cursor;
    const other = await backend.kysely(url);
    // A transaction changes `a` first and commits last.
    let commit!: () => void;
    const held = new Promise<void>((resolve) => { commit = resolve; });
    try {
      let changed!: () => void;
      const inside = new Promise<void>((resolve) => { changed = resolve; });
      const slow = other.transaction().execute(async (tx) => {
        await sql`update files set times_submitted = times_submitted + 1, revision = revision + 1 where sha256 = ${a.sha256}`.execute(tx);
        changed();
        await held;
      });
      await inside;
      await s.addSubmission(submission('b', { name: 'again' }));
      let r = await s.fileChangesSince(cursor, 10);
      assert.deepEqual(r.changes?.map((c) => c.sha256), [b.sha256]);
      cursor = r.cursor;
      commit();
      await slow;
      r = await s.fileChangesSince(cursor, 10);
      assert.deepEqual(r.changes, [{ sha256: a.sha256, revision: 1 }]);
      assert.deepEqual((await s.fileChangesSince(r.cursor, 10)).changes, []);
    } finally {
      commit();
      await other.destroy();
    }
  });
});
