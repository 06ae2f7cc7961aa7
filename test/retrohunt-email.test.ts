// A retrohunt job's notification_email, through a real SMTP server on loopback: the message when
// a job finishes (counts, the first 20 matches), when it is aborted (with its reason, also shown
// as trawl_abort_reason), sent again when the mail server was down, and skipped (logged) when no
// SMTP server is configured; a job whose run failed every attempt is aborted saying so.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { RetrohuntJob } from '../src/jobs/retrohunt-job.js';
import { openStore } from '../src/store/open-store.js';
import { api, fileForm, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { mailText, smtpSink, type SmtpSink } from './helpers/smtp-sink.js';

const base = '/api/v3/intelligence/retrohunt_jobs';
const MARK = 'RH_MAIL_MARK_51c2';
/** Two rules matching the same files: 11 files make 22 matches, more than a message lists. */
const RULES = `rule first_rule { strings: $a = "${MARK}" condition: $a }\nrule second_rule { strings: $a = "${MARK}" condition: $a }`;

const until = async (what: string, ok: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
};

describe('retrohunt notification_email', () => {
  let smtp: SmtpSink;
  let s: TestService;
  let dana: string;

  const create = async (attributes: Record<string, unknown>) => {
    const r = await api(s.url, dana, 'POST', base, { data: { type: 'retrohunt_job', attributes } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.id as string;
  };
  const ended = (id: string) => pollUntil(`job ${id}`, async () => (await api(s.url, dana, 'GET', `${base}/${id}`)).body.data,
    (j) => ['finished', 'aborted'].includes(j.attributes.status), 15_000, 25);
  const mailFor = async (id: string) => {
    const subject = new RegExp(`^Subject: \\[Trawl\\] retrohunt job ${id} `, 'm');
    await until(`the e-mail of ${id}`, () => smtp.messages.some((m) => subject.test(mailText(m))));
    return smtp.messages.find((m) => subject.test(mailText(m)))!;
  };

  before(async () => {
    smtp = await smtpSink();
    s = await startTestService({ smtpUrl: `smtp://127.0.0.1:${smtp.port}`, smtpFrom: 'hunt@trawl.test', jobRetryDelayMs: '50', jobMaxAttempts: '20' });
    dana = await newUser(s, 'dana');
    await Promise.all(Array.from({ length: 11 }, async (_, i) => {
      const r = await api(s.url, dana, 'POST', '/api/v3/files', fileForm(`${MARK} file ${i}`));
      await waitForAnalysis(s.url, dana, r.body.data.id, 30_000);
    }));
  });
  after(async () => {
    await s?.stop();
    await smtp?.close();
  });

  it('mails a finished job: what it scanned, how many matches, the first 20 as `rule sha256`', async () => {
    const id = await create({ rules: RULES, notification_email: 'hunter@example.org' });
    const job = await ended(id);
    assert.equal(job.attributes.status, 'finished');
    assert.equal(job.attributes.num_matches, 22);
    assert.equal(job.attributes.trawl_abort_reason, undefined, 'a finished job has no abort reason');
    const m = await mailFor(id);
    assert.deepEqual(m.to, ['hunter@example.org']);
    assert.equal(m.from, 'hunt@trawl.test');
    const text = mailText(m);
    assert.match(text, new RegExp(`^Subject: \\[Trawl\\] retrohunt job ${id} finished$`, 'm'));
    assert.match(text, new RegExp(`^scanned: +11 files, ${job.attributes.scanned_bytes} bytes$`, 'm'));
    assert.match(text, /^matches: +22$/m);
    const listed = text.match(/^(first_rule|second_rule) [0-9a-f]{64}$/gm) ?? [];
    assert.equal(listed.length, 20);
    // The first 20 of matching_files' order (by sha256, then rule).
    const page = await api(s.url, dana, 'GET', `${base}/${id}/matching_files?limit=20`);
    assert.deepEqual(listed, page.body.data.map((f: any) => `${f.context_attributes.rule_name} ${f.id}`));
    assert.match(text, /2 more/);
    assert.doesNotMatch(text, /reason:/);
  });

  it('mails an aborted job with its reason, which the job object shows too', async () => {
    // Rules the engine no longer compiles (as after an engine upgrade): the API would refuse
    // them, so the job is stored directly, as an older version would have stored it.
    const user = (await s.store.getUserByName('dana'))!;
    const j = await s.store.createRetrohuntJob({
      ownerId: user.id, username: 'dana', rules: 'rule gone { condition: no_such_identifier }', notificationEmail: 'hunter@example.org',
      corpus: 'main', timeRange: { start: 0, end: Math.floor(Date.now() / 1000) }, creationDate: Math.floor(Date.now() / 1000),
    });
    const job = await ended(j.id);
    assert.equal(job.attributes.status, 'aborted');
    assert.match(job.attributes.trawl_abort_reason, /^rules no longer compile: .*no_such_identifier/s);
    const text = mailText(await mailFor(j.id));
    assert.match(text, new RegExp(`^Subject: \\[Trawl\\] retrohunt job ${j.id} aborted$`, 'm'));
    assert.match(text, /^reason: +rules no longer compile: .*no_such_identifier/m);
    assert.match(text, /^matches: +0$/m);
  });

  it('sends the e-mail again until the mail server takes it', async () => {
    smtp.refuse = true;
    const id = await create({ rules: RULES, notification_email: 'later@example.org', time_range: { start: 0, end: 1 } });
    await ended(id);
    await until('a refused attempt', () => smtp.refused >= 1);
    assert.ok(!smtp.messages.some((m) => m.to.includes('later@example.org')));
    smtp.refuse = false;
    const m = await mailFor(id);
    assert.deepEqual(m.to, ['later@example.org']);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(smtp.messages.filter((x) => mailText(x).includes(`retrohunt job ${id} `)).length, 1, 'sent once');
  });
});

describe('retrohunt notification_email without an SMTP server', () => {
  it('is skipped with a log line, and the job still ends', async () => {
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, cb) { lines.push(String(chunk)); cb(); } });
    const s = await startTestService({}, pino({ level: 'info' }, sink));
    try {
      const id = (await api(s.url, s.adminKey, 'POST', base, { data: { type: 'retrohunt_job', attributes: { rules: RULES, notification_email: 'nobody@example.org' } } })).body.data.id as string;
      await pollUntil('finished', async () => (await api(s.url, s.adminKey, 'GET', `${base}/${id}`)).body.data.attributes.status, (st) => st === 'finished', 15_000, 25);
      await until('the log line', () => lines.some((l) => l.includes(id) && /no SMTP server is configured/.test(l)));
      // Nothing is left queued for it.
      await pollUntil('no e-mail job left', () => s.store.jobQueueStats(), (q) => !q.some((k) => k.kind === 'retrohunt-email' && k.queued + k.running > 0), 5_000, 25);
    } finally {
      await s.stop();
    }
  });
});

describe('a retrohunt job whose run failed every attempt', () => {
  it('is aborted with the error (server paths elided) as its reason, and its e-mail queued', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-rh-'));
    const store = await openStore(`sqlite:${join(dir, 'db')}`);
    try {
      const j = await store.createRetrohuntJob({
        ownerId: 1, username: 'gil', rules: 'rule r { condition: true }', notificationEmail: 'gil@example.org',
        corpus: 'main', timeRange: { start: 0, end: 1 }, creationDate: 1_700_000_000,
      });
      const [durable] = await store.claimJobs('w', 10, 60_000);
      assert.equal(durable!.kind, 'retrohunt');
      // Giving up needs the store only: the pool, blobs and compiler of a run are not involved.
      const handler = new RetrohuntJob(store, {} as never, {} as never, {} as never, { maxRunning: 1, scanTimeoutMs: 1000, maxScanBytes: 1, batchSize: 1 });
      await handler.giveUp(durable!, new Error("ENOENT: no such file or directory, open '/var/lib/trawl/blobs/ab/abcdef'"), pino({ level: 'silent' }));
      const after = await store.getRetrohuntJob(j.id);
      assert.equal(after!.status, 'aborted');
      assert.equal(after!.abortReason, "failed every attempt: Error: ENOENT: no such file or directory, open '<path>'");
      const queued = await store.claimJobs('w', 10, 60_000);
      assert.deepEqual(queued.map((q) => [q.kind, q.payload.retrohuntId]), [['retrohunt-email', j.id]]);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
