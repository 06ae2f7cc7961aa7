// The Store contract: retrohunt jobs, their matches, the queue past a user's limit of running
// jobs, and the corpus they walk. Run against every implementation (test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { MAX_ACTIVE_RETROHUNT_JOBS } from '../src/model/retrohunt.js';
import type { NewRetrohuntJob, Store } from '../src/store/store.js';
import { hashes, storeContract, submission } from './helpers/store-contract.js';

const T = 1_700_000_000;
const USER = 'aborted by user';
const newJob = (over: Partial<NewRetrohuntJob> = {}): NewRetrohuntJob => ({
  ownerId: 1, username: 'alice', rules: 'rule a { condition: true }', notificationEmail: null, corpus: 'main',
  timeRange: { start: 0, end: T }, creationDate: T, ...over,
});

/** The durable jobs queued for retrohunt jobs, by retrohunt id (claimed, then put back). */
async function dispatched(s: Store): Promise<Map<string, number>> {
  const claimed = await s.claimJobs('w', 100, 60_000);
  const out = new Map<string, number>();
  for (const j of claimed) {
    if (j.kind === 'retrohunt') out.set(String(j.payload.retrohuntId), j.id);
    await s.retryJob(j.id, 'peeked', 0);
  }
  return out;
}

storeContract('retrohunt jobs', ({ fresh }) => {
  it('creates jobs `<username>-<creation ts>`, unique within a second, starting at 0 %', async () => {
    const s = await fresh();
    const a = await s.createRetrohuntJob(newJob());
    const b = await s.createRetrohuntJob(newJob());
    const c = await s.createRetrohuntJob(newJob({ ownerId: 2, username: 'alice-1700000000' }));
    const d = await s.createRetrohuntJob(newJob());
    assert.deepEqual([a.id, b.id, c.id, d.id], ['alice-1700000000', 'alice-1700000000-2', 'alice-1700000000-1700000000', 'alice-1700000000-3']);
    assert.deepEqual(await s.getRetrohuntJob(a.id), a);
    assert.equal(a.status, 'starting');
    assert.equal(a.progress, 0);
    assert.equal(a.numMatches, 0);
    assert.equal(a.startDate, null);
    assert.equal(a.dispatched, true);
    assert.deepEqual(a.timeRange, { start: 0, end: T });
    assert.equal(await s.getRetrohuntJob('nobody-1'), null);
  });

  it(`queues at most ${MAX_ACTIVE_RETROHUNT_JOBS} jobs of a user; the next starts when one ends`, async () => {
    const s = await fresh();
    const ids: string[] = [];
    for (let i = 0; i < MAX_ACTIVE_RETROHUNT_JOBS + 2; i++) ids.push((await s.createRetrohuntJob(newJob({ creationDate: T + i }))).id);
    const other = await s.createRetrohuntJob(newJob({ ownerId: 2, username: 'bob' }));
    let queued = await dispatched(s);
    assert.equal(queued.size, MAX_ACTIVE_RETROHUNT_JOBS + 1);
    assert.ok(queued.has(other.id));
    assert.ok(!queued.has(ids[10]!) && !queued.has(ids[11]!));
    assert.equal((await s.getRetrohuntJob(ids[10]!))!.dispatched, false);
    // One finishes: the oldest waiting one is queued.
    await s.startRetrohuntJob(ids[0]!, T + 50, 0);
    await s.finishRetrohuntJob(ids[0]!, queued.get(ids[0]!)!, 'finished', T + 60);
    queued = await dispatched(s);
    assert.ok(queued.has(ids[10]!) && !queued.has(ids[0]!) && !queued.has(ids[11]!));
    // A waiting one aborted ends at once; a deleted queued one makes room too.
    assert.equal((await s.abortRetrohuntJob(ids[11]!, T + 70, USER))!.status, 'aborted');
    const twelfth = await s.createRetrohuntJob(newJob({ creationDate: T + 100 }));
    assert.equal(twelfth.dispatched, false);
    assert.equal(await s.deleteRetrohuntJob(ids[1]!), true);
    queued = await dispatched(s);
    assert.ok(queued.has(twelfth.id) && !queued.has(ids[1]!));
    assert.equal(await s.deleteRetrohuntJob(ids[1]!), false);
  });

  it('records progress and matches a batch at a time, once each, and finishes at 100 %', async () => {
    const s = await fresh();
    const j = await s.createRetrohuntJob(newJob());
    const durable = (await dispatched(s)).get(j.id)!;
    const started = await s.startRetrohuntJob(j.id, T + 5, 4);
    assert.equal(started!.status, 'running');
    assert.equal(started!.startDate, T + 5);
    assert.equal(started!.totalFiles, 4);
    const m = (sha: string, rule = 'a') => ({ sha256: sha, rule, snippet: sha === 'bb' ? null : '41 42  AB', matchInSubfile: sha === 'cc' });
    let p = await s.recordRetrohuntProgress(j.id, { cursor: 'bb', scannedFiles: 2, scannedBytes: 300, progress: 50, etaSeconds: 7, matches: [m('bb'), m('aa'), m('aa', 'b')] });
    assert.deepEqual([p!.cursor, p!.scannedFiles, p!.scannedBytes, p!.progress, p!.etaSeconds, p!.numMatches], ['bb', 2, 300, 50, 7, 3]);
    // A batch run again (after a restart) stores nothing twice.
    p = await s.recordRetrohuntProgress(j.id, { cursor: 'cc', scannedFiles: 4, scannedBytes: 600, progress: 100, etaSeconds: 0, matches: [m('bb'), m('cc')] });
    assert.equal(p!.numMatches, 4);
    assert.equal((p as Record<string, unknown>).rules, undefined, 'a batch\'s record does not read the rules back');
    const first = await s.listRetrohuntMatches(j.id, undefined, 3);
    assert.deepEqual(first.map((x) => [x.sha256, x.rule]), [['aa', 'a'], ['aa', 'b'], ['bb', 'a']]);
    assert.deepEqual(first[2], m('bb'));
    const rest = await s.listRetrohuntMatches(j.id, { sha256: 'bb', rule: 'a' }, 3);
    assert.deepEqual(rest, [m('cc')]);
    await s.finishRetrohuntJob(j.id, durable, 'finished', T + 9);
    const done = await s.getRetrohuntJob(j.id);
    assert.deepEqual([done!.status, done!.progress, done!.finishDate, done!.etaSeconds], ['finished', 100, T + 9, 0]);
    assert.equal((await dispatched(s)).size, 0);
    assert.equal(await s.deleteRetrohuntJob(j.id), true);
    assert.deepEqual(await s.listRetrohuntMatches(j.id, undefined, 10), []);
    assert.equal(await s.recordRetrohuntProgress(j.id, { cursor: 'dd', scannedFiles: 5, scannedBytes: 1, progress: 1, etaSeconds: 0, matches: [] }), null);
  });

  it('records a batch of thousands of matches (a common literal), a match listed twice in it once', async () => {
    const s = await fresh();
    const j = await s.createRetrohuntJob(newJob());
    await s.startRetrohuntJob(j.id, T + 5, 3000);
    const matches = Array.from({ length: 2500 }, (_, i) => ({ sha256: i.toString(16).padStart(64, '0'), rule: 'lit', snippet: null, matchInSubfile: false }));
    const p = await s.recordRetrohuntProgress(j.id, { cursor: 'ff', scannedFiles: 3000, scannedBytes: 1, progress: 100, etaSeconds: 0, matches: [...matches, matches[7]!, matches[2400]!] });
    assert.equal(p!.numMatches, 2500);
    let n = 0;
    for (let after: { sha256: string; rule: string } | undefined; ;) {
      const page = await s.listRetrohuntMatches(j.id, after, 1000);
      n += page.length;
      if (page.length < 1000) break;
      after = { sha256: page[page.length - 1]!.sha256, rule: 'lit' };
    }
    assert.equal(n, 2500);
  });

  it('aborting a queued or running job asks its runner to stop; ended jobs stay as they are', async () => {
    const s = await fresh();
    const j = await s.createRetrohuntJob(newJob());
    assert.equal((await s.abortRetrohuntJob(j.id, T + 1, USER))!.status, 'aborting');
    const r = await s.createRetrohuntJob(newJob());
    await s.startRetrohuntJob(r.id, T + 2, 10);
    assert.equal((await s.abortRetrohuntJob(r.id, T + 3, USER))!.status, 'aborting');
    // startRetrohuntJob only starts `starting` jobs.
    assert.equal((await s.startRetrohuntJob(j.id, T + 4, 1))!.status, 'aborting');
    const q = await dispatched(s);
    await s.finishRetrohuntJob(r.id, q.get(r.id)!, 'aborted', T + 5);
    const ended = await s.abortRetrohuntJob(r.id, T + 6, USER);
    assert.deepEqual([ended!.status, ended!.finishDate], ['aborted', T + 5]);
    assert.equal(await s.abortRetrohuntJob('alice-1', T, USER), null);
  });

  it('records why a job was aborted: the first reason stands, a job that finished anyway has none', async () => {
    const s = await fresh();
    const fresh1 = await s.createRetrohuntJob(newJob());
    assert.equal(fresh1.abortReason, null);
    // Asked by its owner, then failing while it stops: the owner's reason stays.
    const byUser = await s.abortRetrohuntJob(fresh1.id, T + 1, USER);
    assert.deepEqual([byUser!.status, byUser!.abortReason], ['aborting', USER]);
    const noCompile = await s.createRetrohuntJob(newJob());
    const late = await s.createRetrohuntJob(newJob());
    const q = await dispatched(s);
    await s.finishRetrohuntJob(fresh1.id, q.get(fresh1.id)!, 'aborted', T + 2, 'failed every attempt: boom');
    assert.equal((await s.getRetrohuntJob(fresh1.id))!.abortReason, USER);
    // Stopped by its runner: the runner's reason.
    await s.startRetrohuntJob(noCompile.id, T + 3, 1);
    await s.finishRetrohuntJob(noCompile.id, q.get(noCompile.id)!, 'aborted', T + 4, 'rules no longer compile: oops');
    const stopped = await s.getRetrohuntJob(noCompile.id);
    assert.deepEqual([stopped!.status, stopped!.abortReason], ['aborted', 'rules no longer compile: oops']);
    // An ended job keeps its reason.
    assert.equal((await s.abortRetrohuntJob(noCompile.id, T + 5, USER))!.abortReason, 'rules no longer compile: oops');
    // An abort that came after the last file: the job finished, and was not aborted.
    await s.abortRetrohuntJob(late.id, T + 6, USER);
    await s.finishRetrohuntJob(late.id, q.get(late.id)!, 'finished', T + 7);
    const finished = await s.getRetrohuntJob(late.id);
    assert.deepEqual([finished!.status, finished!.abortReason], ['finished', null]);
  });

  it('queues the e-mail of a job with a notification_email in the transaction that ends it', async () => {
    const s = await fresh();
    /** Ids of the retrohunt jobs whose e-mail is queued (taken off the queue). */
    const emails = async () => {
      const out: string[] = [];
      for (const j of await s.claimJobs('w', 100, 60_000)) {
        if (j.kind === 'retrohunt-email') {
          assert.equal(j.lane, 'email');
          out.push(String(j.payload.retrohuntId));
          await s.deleteJob(j.id);
        } else await s.retryJob(j.id, 'peeked', 0);
      }
      return out.sort();
    };
    const mail = { notificationEmail: 'soc@example.org' };
    const done = await s.createRetrohuntJob(newJob(mail));
    const silent = await s.createRetrohuntJob(newJob());
    const stopping = await s.createRetrohuntJob(newJob(mail));
    let q = await dispatched(s);
    assert.deepEqual(await emails(), [], 'none before a job ends');
    await s.finishRetrohuntJob(done.id, q.get(done.id)!, 'finished', T + 1);
    await s.finishRetrohuntJob(silent.id, q.get(silent.id)!, 'finished', T + 1);
    assert.deepEqual(await emails(), [done.id]);
    // Aborting is not the end yet; the runner's finish is.
    await s.abortRetrohuntJob(stopping.id, T + 2, USER);
    assert.deepEqual(await emails(), []);
    q = await dispatched(s);
    await s.finishRetrohuntJob(stopping.id, q.get(stopping.id)!, 'aborted', T + 3);
    assert.deepEqual(await emails(), [stopping.id]);
    // A job never queued (past its owner's limit) is aborted at once, and mailed at once.
    for (let i = 0; i < MAX_ACTIVE_RETROHUNT_JOBS; i++) await s.createRetrohuntJob(newJob({ ownerId: 3, username: 'carol', creationDate: T + i }));
    const waiting = await s.createRetrohuntJob(newJob({ ownerId: 3, username: 'carol', creationDate: T + 50, ...mail }));
    assert.equal(waiting.dispatched, false);
    const aborted = await s.abortRetrohuntJob(waiting.id, T + 60, USER);
    assert.deepEqual([aborted!.status, aborted!.abortReason], ['aborted', USER]);
    assert.deepEqual(await emails(), [waiting.id]);
  });

  it('lists a user\'s jobs newest first, by status, with a position and a count', async () => {
    const s = await fresh();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await s.createRetrohuntJob(newJob({ creationDate: T + i }))).id);
    await s.createRetrohuntJob(newJob({ ownerId: 2, username: 'bob' }));
    await s.abortRetrohuntJob(ids[1]!, T, USER);
    await s.abortRetrohuntJob(ids[3]!, T, USER);
    const page = await s.listRetrohuntJobs(1, { limit: 3 });
    assert.deepEqual(page.map((j) => j.id), [ids[4], ids[3], ids[2]]);
    const next = await s.listRetrohuntJobs(1, { limit: 3, after: { date: page[2]!.creationDate, id: page[2]!.id } });
    assert.deepEqual(next.map((j) => j.id), [ids[1], ids[0]]);
    assert.deepEqual((await s.listRetrohuntJobs(1, { status: 'aborting', limit: 10 })).map((j) => j.id), [ids[3], ids[1]]);
    assert.equal(await s.countRetrohuntJobs(1), 5);
    assert.equal(await s.countRetrohuntJobs(1, 'aborting'), 2);
    assert.equal(await s.countRetrohuntJobs(3), 0);
  });

  it('walks the files first submitted within a time range, by sha256', async () => {
    const s = await fresh();
    const subs = [];
    for (let i = 0; i < 5; i++) subs.push(await s.addSubmission(submission(`file ${i}`, { date: T + i * 10 })));
    const inRange = subs.filter((x) => x.date >= T + 10 && x.date <= T + 30).map((x) => x.sha256).sort();
    const range = { start: T + 10, end: T + 30 };
    assert.equal(await s.retrohuntCorpusSize(range, 'main'), 3);
    const first = await s.retrohuntCorpus(range, null, 2, 'main');
    assert.deepEqual(first.map((f) => f.sha256), inRange.slice(0, 2));
    assert.equal(first[0]!.timesSubmitted, 1);
    assert.deepEqual((await s.retrohuntCorpus(range, first[1]!.sha256, 2, 'main')).map((f) => f.sha256), inRange.slice(2));
    assert.deepEqual(await s.retrohuntCorpus({ start: T + 100, end: T + 200 }, null, 10, 'main'), []);
    assert.equal(await s.retrohuntCorpusSize(range, 'goodware'), 0);
  });

  it('walks the main or the goodware corpus: each file in the corpora its submissions and containers brought it to', async () => {
    const s = await fresh();
    const plain = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
    const sha = (content: string) => hashes(content).sha256;
    /** Submits `content` to `corpus` and completes its analysis with `members` unpacked from it. */
    const add = async (content: string, corpus: 'main' | 'goodware', members: string[] = []) => {
      const sub = await s.addSubmission(submission(content, { corpus, date: T }));
      assert.equal(sub.corpus, corpus);
      assert.equal((await s.getSubmission(sub.id))!.corpus, corpus);
      const claimed = await s.claimJobs('w', 10, 60_000);
      const job = claimed.find((j) => j.payload.submissionId === sub.id)!;
      // The goodware intake has a lane of its own; a user's uploads are in the user's.
      assert.equal(job.lane, corpus === 'goodware' ? 'goodware' : 'user:1');
      for (const other of claimed) if (other !== job) await s.retryJob(other.id, 'not this one', 0);
      const subfiles = members.map((m) => ({ ...hashes(m), analysis: plain, parents: [{ sha256: sub.sha256, name: `${m}.txt` }] }));
      await s.completeAnalysis(job.id, sub.id, plain, T, [], { subfiles });
    };
    await add('user upload', 'main', ['member of an upload']);
    await add('known good', 'goodware', ['member of goodware', 'member of both']);
    await add('user zip', 'main', ['member of both']);
    // The same content submitted both ways, in either order, is in both corpora.
    await add('both, user first', 'main');
    await add('both, user first', 'goodware');
    await add('both, goodware first', 'goodware');
    await add('both, goodware first', 'main');
    // Goodware added again, itself this time, stays out of the main corpus.
    await add('member of goodware', 'goodware');
    const range = { start: 0, end: T };
    const walk = async (corpus: 'main' | 'goodware') => {
      const seen: string[] = [];
      for (let after: string | null = null; ;) {
        const page = await s.retrohuntCorpus(range, after, 2, corpus);
        if (page.length === 0) return seen;
        seen.push(...page.map((f) => f.sha256));
        after = page[page.length - 1]!.sha256;
      }
    };
    const main = ['user upload', 'member of an upload', 'user zip', 'member of both', 'both, user first', 'both, goodware first'].map(sha).sort();
    const goodware = ['known good', 'member of goodware', 'member of both', 'both, user first', 'both, goodware first'].map(sha).sort();
    assert.deepEqual(await walk('main'), main);
    assert.deepEqual(await walk('goodware'), goodware);
    assert.equal(await s.retrohuntCorpusSize(range, 'main'), main.length);
    assert.equal(await s.retrohuntCorpusSize(range, 'goodware'), goodware.length);
    assert.equal(await s.retrohuntCorpusSize({ start: T + 1, end: T + 2 }, 'goodware'), 0);
  });
});
