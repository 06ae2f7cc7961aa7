// The Store contract: the job queue and the completing transactions. Run against every
// implementation (SQLite with and without its writer thread, PostgreSQL;
// test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { submission, sleep, ruleset, note, analysed, storeContract } from './helpers/store-contract.js';

storeContract('the job queue and the completing transactions', ({ kind, fresh }) => {
  it('claimJobs never hands one job to two concurrent claimers', async () => {
    const s = await fresh();
    await Promise.all(Array.from({ length: 60 }, (_, i) => s.addSubmission(submission(`j${i}`))));
    const claimer = async (w: string) => {
      const got: number[] = [];
      for (let jobs = await s.claimJobs(w, 3, 60_000); jobs.length > 0; jobs = await s.claimJobs(w, 3, 60_000)) {
        for (const j of jobs) {
          assert.equal(j.kind, 'analyze');
          assert.equal(j.attempts, 0);
          assert.equal(typeof j.payload.submissionId, 'number');
          got.push(j.id);
        }
      }
      return got;
    };
    const all = (await Promise.all(['w1', 'w2', 'w3', 'w4'].map(claimer))).flat();
    assert.equal(all.length, 60);
    assert.equal(new Set(all).size, 60);
    assert.equal(await s.pendingJobs(), 60);
    assert.deepEqual(await s.claimJobs('w5', 10, 1000), []);
  });

  it('claimJobs shares claims fairly between users: another user\'s one upload is not behind a backlog', async () => {
    const s = await fresh();
    const mine = [];
    for (let i = 0; i < 30; i++) mine.push(await s.addSubmission(submission(`bulk${i}`, { userId: 1 })));
    const theirs = await s.addSubmission(submission('other', { userId: 2 }));
    // The bulk user's oldest job and the other user's one: the lane with none running goes first.
    const first = await s.claimJobs('w', 2, 60_000);
    assert.deepEqual(first.map((j) => j.payload.submissionId).sort(), [mine[0]!.id, theirs.id].sort());
    // A third user arrives while the bulk user has a job running: theirs comes first.
    const third = await s.addSubmission(submission('third', { userId: 3 }));
    const [next] = await s.claimJobs('w', 1, 60_000);
    assert.equal(next?.payload.submissionId, third.id);
    // Alone, a lane is claimed in order, as many at once as asked.
    const rest = await s.claimJobs('w', 5, 60_000);
    assert.deepEqual(rest.map((j) => j.payload.submissionId), mine.slice(1, 6).map((m) => m.id));
  });

  it('makes a job claimable again when its lease expires; extendLeases and requeue', async () => {
    const s = await fresh();
    const sub = await s.addSubmission(submission('l'));
    const [job] = await s.claimJobs('w1', 5, 40);
    assert.deepEqual(job?.payload, { submissionId: sub.id });
    assert.deepEqual(await s.claimJobs('w2', 5, 40), []);
    await sleep(60);
    const [again] = await s.claimJobs('w2', 5, 40);
    assert.equal(again?.id, job?.id);
    assert.equal(again?.attempts, 1);

    await s.extendLeases('w2', 60_000);
    await sleep(60);
    assert.deepEqual(await s.claimJobs('w3', 5, 40), [], 'an extended lease holds');
    assert.equal(await s.requeueRunningJobs(), 1);
    assert.equal((await s.claimJobs('w3', 5, 40))[0]?.attempts, 2);
  });

  it('retryJob delays the job and records the error', async () => {
    const s = await fresh();
    await s.addSubmission(submission('r'));
    const [job] = await s.claimJobs('w', 1, 60_000);
    assert.ok(job);
    await s.retryJob(job.id, 'boom', 60_000);
    assert.deepEqual(await s.claimJobs('w', 1, 60_000), []);
    assert.equal(await s.pendingJobs(), 1);
    await s.retryJob(job.id, 'boom', 0);
    assert.equal((await s.claimJobs('w', 1, 60_000))[0]?.attempts, 1);
  });

  it('completeAnalysis stores the analysis, completes the submission, removes the job', async () => {
    const s = await fresh();
    const sub = await s.addSubmission(submission('a'));
    const [job] = await s.claimJobs('w', 1, 60_000);
    assert.ok(job);
    const analysis = {
      magic: 'PE32', typeDescription: 'Win32 EXE', typeTag: 'peexe', typeTags: ['executable', 'windows'],
      typeExtension: 'exe', tags: ['peexe'],
    };
    const submitted = (await s.getFile(sub.sha256))!.revision!;
    await s.completeAnalysis(job.id, sub.id, analysis, 1_700_000_500);
    const f = await s.getFile(sub.sha256);
    assert.deepEqual(f, { ...f, ...analysis, lastAnalysisDate: 1_700_000_500 });
    const done = await s.getSubmission(sub.id);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.completedAt, 1_700_000_500);
    assert.equal(await s.pendingJobs(), 0);
    assert.ok(f!.revision! > submitted, 'every change of the file changes its revision');
    await s.addSubmission(submission('a', { name: 'again.exe' }));
    assert.ok((await s.getFile(sub.sha256))!.revision! > f!.revision!);
  });

  it('failAnalysis keeps the job as failed, fails the submission and marks the file; nothing claims it', async () => {
    const s = await fresh();
    const sub = await s.addSubmission(submission('fail1'));
    const other = await s.addSubmission(submission('fail2'));
    const jobs = await s.claimJobs('w', 5, 60_000);
    const job = jobs.find((j) => j.payload.submissionId === sub.id)!;
    const rest = jobs.find((j) => j.payload.submissionId === other.id)!;
    const before = (await s.getFile(sub.sha256))!.revision!;
    const failure = { code: 'content_missing', message: "the file's contents are missing from the blob store", date: 1_700_000_900 };
    await s.failAnalysis(job.id, sub.id, failure, 'Error: blob x is missing');
    const failed = await s.getSubmission(sub.id);
    assert.equal(failed?.status, 'failed');
    assert.deepEqual(failed?.failure, failure);
    assert.equal(failed?.completedAt, 1_700_000_900);
    const f = await s.getFile(sub.sha256);
    assert.deepEqual(f?.analysisError, failure);
    assert.equal(f?.lastAnalysisDate, undefined, 'a failure is no analysis: no type, no analysis date');
    assert.equal(f?.typeDescription, undefined);
    assert.ok(f!.revision! > before, 'the file\'s cached forms are rebuilt');
    assert.equal(await s.pendingJobs(), 1, 'a failed job is not pending (the other one is)');
    await s.retryJob(rest.id, 'later', 0);
    const claimed = await s.claimJobs('w2', 5, 60_000);
    assert.deepEqual(claimed.map((j) => j.id), [rest.id], 'a failed job is never claimed');
    assert.equal(await s.requeueRunningJobs(), 1, 'nor requeued as running');
    assert.equal(await s.countFailedJobs(), 1);
    assert.equal(await s.countFailedJobs('analyze'), 1);
    assert.equal(await s.countFailedJobs('late-scan'), 0);
    const [listed, ...none] = await s.listFailedJobs(0, 10);
    assert.deepEqual(none, []);
    assert.deepEqual({ ...listed, failedAt: 0 }, { id: job.id, kind: 'analyze', payload: { submissionId: sub.id }, attempts: 1, lastError: 'Error: blob x is missing', failedAt: 0 });
    assert.ok(listed!.failedAt > Date.now() - 60_000 && listed!.failedAt <= Date.now());
    assert.deepEqual(await s.listFailedJobs(job.id, 10), []);
  });

  it('retryFailedJobs queues failed jobs again with fresh attempts; a completed analysis clears the failure', async () => {
    const s = await fresh();
    const a = await s.addSubmission(submission('rf1'));
    const b = await s.addSubmission(submission('rf2'));
    const jobs = await s.claimJobs('w', 5, 60_000);
    const failure = { code: 'timeout', message: 'the analysis did not finish in time', date: 1_700_000_900 };
    for (const j of jobs) await s.failAnalysis(j.id, Number(j.payload.submissionId), failure, 'raw');
    const [ja, jb] = [jobs.find((j) => j.payload.submissionId === a.id)!, jobs.find((j) => j.payload.submissionId === b.id)!];
    assert.deepEqual(await s.retryFailedJobs([ja.id, 999_999]), [ja.id], 'unknown ids are skipped');
    assert.deepEqual(await s.retryFailedJobs([ja.id]), [], 'a queued job is not failed');
    const queued = await s.getSubmission(a.id);
    assert.equal(queued?.status, 'queued');
    assert.equal(queued?.failure, undefined);
    assert.equal((await s.getSubmission(b.id))?.status, 'failed');
    assert.deepEqual((await s.getFile(a.sha256))?.analysisError, failure, 'the file keeps it until an analysis succeeds');
    assert.equal(await s.countFailedJobs(), 1);
    const [again] = await s.claimJobs('w', 5, 60_000);
    assert.equal(again?.id, ja.id);
    assert.equal(again?.attempts, 0, 'attempts count afresh');
    assert.equal((await s.getSubmission(a.id))?.status, 'in-progress');
    const analysis = { magic: 'ASCII text', typeDescription: 'Text', typeTag: 'text', typeTags: ['text'], typeExtension: 'txt', tags: ['text'] };
    await s.completeAnalysis(again!.id, a.id, analysis, 1_700_001_000);
    const done = await s.getSubmission(a.id);
    assert.equal(done?.status, 'completed');
    assert.equal(done?.failure, undefined);
    const f = await s.getFile(a.sha256);
    assert.equal(f?.analysisError, undefined);
    assert.equal(f?.typeDescription, 'Text');
    assert.deepEqual(await s.retryFailedJobs(), [jb.id], 'every failed job');
    assert.equal(await s.countFailedJobs(), 0);
    assert.equal(await s.pendingJobs(), 1);
  });

  it('failJob keeps a job that is not an analysis as failed, and a keyed job can be queued again meanwhile', async () => {
    const s = await fresh();
    assert.equal(await s.enqueueJob('email', { rulesetId: 7 }, 'email:7'), true);
    const [job] = await s.claimJobs('w', 5, 60_000);
    await s.failJob(job!.id, 'smtp down');
    assert.equal(await s.pendingJobs(), 0);
    assert.deepEqual((await s.listFailedJobs(0, 10)).map((j) => [j.kind, j.lastError]), [['email', 'smtp down']]);
    assert.equal(await s.enqueueJob('email', { rulesetId: 7 }, 'email:7'), true, 'a failed job does not hold its key');
    assert.equal(await s.countFailedJobs('email'), 1);
  });

  it('queues a follow-up job with the completion, and completeJob stores its notifications once and removes it', async () => {
    const s = await fresh();
    const now = Math.floor(Date.now() / 1000);
    const r = await s.createRuleset(ruleset(1, 'slowpoke'));
    const followUp = { kind: 'late-scan', payload: { files: ['f'] }, lane: 'late' };
    const { sub } = await analysed(s, 'late1', () => [], { followUp });
    const [late] = await s.claimJobs('w', 5, 60_000);
    assert.equal(late?.kind, 'late-scan');
    assert.equal(late?.lane, 'late');
    assert.deepEqual(late?.payload, { files: ['f'] });
    const stored = await s.completeJob(late!.id, [note(r, sub, 'late_rule', now)]);
    assert.deepEqual(stored.stored.map((n) => n.ruleName), ['late_rule']);
    assert.equal(await s.pendingJobs(), 0, 'the job is gone with its notifications stored');
    // Run again (say, after a crash): nothing stored twice.
    assert.equal((await s.completeJob(late!.id, [note(r, sub, 'late_rule', now)])).stored.length, 0);
  });

  it('completes concurrent analyses each once, with one ruleset limit across all of them', async () => {
    const s = await fresh();
    const now = Math.floor(Date.now() / 1000);
    const r = await s.createRuleset(ruleset(1, 'shared', { limit: 5 }));
    const subs = await Promise.all(Array.from({ length: 12 }, (_, i) => s.addSubmission(submission(`cc${i}`))));
    const jobs = await s.claimJobs('w', 20, 60_000);
    assert.equal(jobs.length, 12);
    const analysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
    // Completed side by side, as the job runner does (SQLite commits them in shared transactions).
    const results = await Promise.all(jobs.map((job) => {
      const sub = subs.find((x) => x.id === job.payload.submissionId)!;
      return s.completeAnalysis(job.id, sub.id, analysis, 1_700_000_700, [note(r, sub, 'x', now)]);
    }));
    assert.equal(results.reduce((a, x) => a + x.stored.length, 0), 5, 'the limit holds across the batch');
    assert.equal(results.reduce((a, x) => a + (x.rateLimited[r.id] ?? 0), 0), 7);
    assert.equal(await s.pendingJobs(), 0);
    for (const sub of subs) assert.equal((await s.getSubmission(sub.id))?.status, 'completed');
  });

  it('queues one e-mail job per ruleset, with the notifications waiting for it', async () => {
    const s = await fresh();
    const r = await s.createRuleset(ruleset(1, 'mailed', { notificationEmails: ['a@example.org'] }));
    const quiet = await s.createRuleset(ruleset(1, 'quiet'));
    const now = Math.floor(Date.now() / 1000);
    const emails = { emails: true, emailDelayMs: 0 };
    await analysed(s, 'm1', (sub) => [note(r, sub, 'x', now), note(quiet, sub, 'x', now)], emails);
    await analysed(s, 'm2', (sub) => [note(r, sub, 'x', now)], emails);
    await analysed(s, 'm3', (sub) => [note(r, sub, 'y', now)], {});
    const jobs = (await s.claimJobs('w', 10, 60_000)).filter((j) => j.kind === 'email');
    assert.deepEqual(jobs.map((j) => j.payload), [{ rulesetId: r.id }]);
    const waiting = await s.takePendingEmails(r.id, 1);
    assert.equal(waiting.waiting, 2);
    assert.equal(waiting.notifications.length, 1);
    await s.clearPendingEmails(waiting.notifications.map((n) => n.id));
    assert.equal((await s.takePendingEmails(r.id, 10)).waiting, 1);
    assert.equal((await s.takePendingEmails(quiet.id, 10)).waiting, 0);
    await s.deleteJob(jobs[0]!.id);
    assert.equal(await s.pendingJobs(), 0);
  });

  it('jobQueueStats counts queued, running and failed jobs by kind, with the oldest queued one\'s run_after', async () => {
    const s = await fresh();
    assert.deepEqual(await s.jobQueueStats(), []);
    const before = Date.now();
    for (const c of ['q1', 'q2', 'q3']) await s.addSubmission(submission(c));
    const enqueued = Date.now();
    const [first] = await s.claimJobs('w', 1, 60_000);
    assert.equal(first?.kind, 'analyze');
    let [analyze] = await s.jobQueueStats();
    assert.equal(analyze?.kind, 'analyze');
    assert.deepEqual([analyze?.queued, analyze?.running], [2, 1]);
    assert.ok(analyze!.oldestQueuedAt! >= before && analyze!.oldestQueuedAt! <= enqueued, `${analyze!.oldestQueuedAt} in [${before}, ${enqueued}]`);
    // Put back for a minute: queued again, but the oldest queued job is still one of the others.
    await s.retryJob(first!.id, 'boom', 60_000);
    await s.enqueueJob('email', { rulesetId: 1 });
    const stats = await s.jobQueueStats();
    assert.deepEqual(stats.map((k) => [k.kind, k.queued, k.running]), [['analyze', 3, 0], ['email', 1, 0]]);
    assert.ok(stats[0]!.oldestQueuedAt! <= enqueued);
    // Everything runnable claimed: what is left queued is the delayed retry, due in the future.
    const claimed = await s.claimJobs('w', 10, 60_000);
    assert.equal(claimed.length, 3);
    [analyze] = await s.jobQueueStats();
    assert.deepEqual([analyze?.queued, analyze?.running], [1, 2]);
    assert.ok(analyze!.oldestQueuedAt! > Date.now() + 30_000, 'a delayed job is queued from when it may run');
    const email = (await s.jobQueueStats()).find((k) => k.kind === 'email');
    assert.deepEqual(email, { kind: 'email', queued: 0, running: 1, failed: 0, oldestQueuedAt: null });
    // Given up on: counted as failed, no longer running.
    await s.failJob(claimed.find((j) => j.kind === 'email')!.id, 'smtp down');
    assert.deepEqual((await s.jobQueueStats()).find((k) => k.kind === 'email'), { kind: 'email', queued: 0, running: 0, failed: 1, oldestQueuedAt: null });
  });
});
