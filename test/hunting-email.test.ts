// Notification e-mails through a real SMTP server on loopback (smtp-server): one message for a
// single match, a digest when several arrive together, and a report to the owner of a slow ruleset.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { mailText as text, smtpSink } from './helpers/smtp-sink.js';

const until = async (what: string, ok: () => boolean, ms = 15_000) => {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

describe('notification e-mail', () => {
  let smtp: Awaited<ReturnType<typeof smtpSink>>;
  let s: TestService;

  before(async () => {
    smtp = await smtpSink();
    s = await startTestService({ smtpUrl: `smtp://127.0.0.1:${smtp.port}`, smtpFrom: 'hunt@trawl.test', emailDelay: '1', scanTimeout: '1', slowScan: '1' });
  });
  after(async () => {
    await s.stop();
    await smtp.close();
  });

  const create = async (attributes: Record<string, unknown>) => {
    const r = await api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { enabled: true, ...attributes } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };
  const upload = async (content: Buffer) => {
    const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content));
    await waitForAnalysis(s.url, s.adminKey, r.body.data.id, 30_000);
  };

  it('sends one message for a match, and a digest for a burst', async () => {
    await create({ name: 'mailme', notification_emails: ['soc@example.org', 'ir@example.org'], rules: 'rule mail_rule { strings: $a = "MAIL-MARK" condition: $a }' });
    await upload(Buffer.from(`MAIL-MARK ${randomBytes(8).toString('hex')}`));
    await until('the first message', () => smtp.messages.length >= 1);
    const [one] = smtp.messages;
    assert.equal(one!.from, 'hunt@trawl.test');
    assert.deepEqual(one!.to.sort(), ['ir@example.org', 'soc@example.org']);
    // Both are in the envelope; no header names them, so neither sees the other.
    const headers = text(one!).split('\r\n\r\n')[0]!;
    assert.doesNotMatch(headers, /example\.org/);
    assert.match(headers, /^To: "?undisclosed-recipients"?:;/m);
    assert.match(text(one!), /Subject: \[Trawl\] mailme: mail_rule matched [0-9a-f]{64}/);
    assert.match(text(one!), /4D 41 49 4C 2D 4D 41 52 4B/, 'the snippet, without its markers');

    await Promise.all(Array.from({ length: 5 }, (_, i) => upload(Buffer.from(`MAIL-MARK burst ${i} ${randomBytes(8).toString('hex')}`))));
    await until('the digest', () => smtp.messages.length >= 2);
    await new Promise((r) => setTimeout(r, 2500));
    const rest = smtp.messages.slice(1);
    assert.ok(rest.length < 5, `5 matches arriving together make fewer than 5 messages (got ${rest.length})`);
    const total = rest.reduce((n, m) => n + (/new matches/.test(text(m)) ? Number(/(\d+) new matches/.exec(text(m))![1]) : 1), 0);
    assert.equal(total, 5, 'every match is in a message');
  });

  it("tells the owner when their ruleset makes scans slow", async () => {
    await api(s.url, s.adminKey, 'PATCH', '/api/v3/users/admin', { data: { type: 'user', attributes: { email: 'owner@example.org' } } });
    // Guarded by its size, so that it passes the speed probe at creation (smaller files).
    await create({ name: 'sluggish', rules: 'rule slow_loop { condition: filesize > 300000 and for all i in (0..filesize - 1) : (for all j in (0..filesize - 1) : (uint8(i) + uint8(j) >= 0)) }' });
    const before = smtp.messages.length;
    await upload(randomBytes(310 * 1024));
    await until('the slow-ruleset report', () => smtp.messages.slice(before).some((m) => /ruleset is slow/.test(text(m))));
    const report = smtp.messages.slice(before).find((m) => /ruleset is slow/.test(text(m)))!;
    assert.deepEqual(report.to, ['owner@example.org']);
    assert.match(text(report), /timed out after \d+ ms on file [0-9a-f]{64}/);
  });
});
