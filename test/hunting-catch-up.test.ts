// Ruleset changes an analysis does not wait for (rulesCompileWaitMs): the file is scanned with
// the rules compiled so far, the changed rulesets' matches from that scan are dropped (they are of
// versions no longer current, or of rulesets disabled since), and the changed rulesets scan the
// file late, once compiled. Every change still reaches every later upload, a moment later; the
// other rulesets' matches are there when the analysis completes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { api, fileForm, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const RULESETS = '/api/v3/intelligence/hunting_rulesets';

/** A ruleset of `n` rules (so that it compiles for a while), one of which, `name`, matches `mark`. */
const bigRuleset = (name: string, mark: string, n = 800) => [
  `rule ${name} { strings: $a = "${mark}" condition: $a }`,
  ...Array.from({ length: n }, (_, i) => `rule filler_${i} { strings: $a = "FILLER-${i}-${randomBytes(6).toString('hex')}" condition: $a }`),
].join('\n');

describe('ruleset changes caught up late', () => {
  let s: TestService;
  const logged: string[] = [];

  before(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { logged.push(String(chunk)); done(); } });
    s = await startTestService({ rulesCompileWaitMs: '0' }, pino({ level: 'debug' }, sink));
  });
  after(async () => s.stop());

  const create = async (name: string, rules: string) => {
    const r = await api(s.url, s.adminKey, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name, rules, enabled: true } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.id as string;
  };
  const patch = async (id: string, attributes: Record<string, unknown>) =>
    assert.equal((await api(s.url, s.adminKey, 'PATCH', `${RULESETS}/${id}`, { data: { type: 'hunting_ruleset', attributes } })).status, 200);
  const upload = async (content: Buffer) => {
    const id = (await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content))).body.data.id as string;
    await waitForAnalysis(s.url, s.adminKey, id, 60_000);
    return createHash('sha256').update(content).digest('hex');
  };
  const rulesOn = async (sha256: string) =>
    ((await api(s.url, s.adminKey, 'GET', `/api/v3/intelligence/hunting_notification_files?filter=${sha256}&limit=40`)).body.data as any[])
      .map((d) => d.context_attributes.rule_name as string).sort();
  const until = (what: string, fn: () => Promise<string[]>, ok: (v: string[]) => boolean) => pollUntil(what, fn, ok, 30_000, 50);

  it('keeps the unchanged rulesets\' matches at once, adds the changed ones\' late, and never a stale version\'s', async () => {
    await create('steady', 'rule steady { strings: $a = "STEADY-MARK" condition: $a }');
    const first = await upload(Buffer.from(`STEADY-MARK ${randomBytes(8).toString('hex')}`));
    await until('steady compiled', () => rulesOn(first), (r) => r.includes('steady'));

    // A new ruleset still compiling when the next file is analysed.
    const fresh = await create('fresh', bigRuleset('fresh_v1', 'FRESH-MARK'));
    const both = Buffer.from(`STEADY-MARK FRESH-MARK ${randomBytes(8).toString('hex')}`);
    const a = await upload(both);
    assert.ok((await rulesOn(a)).includes('steady'), 'the unchanged ruleset\'s match is there when the analysis completes');
    assert.deepEqual(await until('caught up', () => rulesOn(a), (r) => r.length === 2), ['fresh_v1', 'steady']);

    // Changed: the file matches the old version too, but only the new one may notify.
    await patch(fresh, { rules: bigRuleset('fresh_v2', 'FRESH-MARK') });
    const b = await upload(Buffer.from(`FRESH-MARK ${randomBytes(8).toString('hex')}`));
    assert.deepEqual(await until('new version', () => rulesOn(b), (r) => r.length > 0), ['fresh_v2']);

    // Disabled: the compiled version still matches, but nothing may notify.
    await patch(fresh, { enabled: false });
    const steadyToo = await upload(Buffer.from(`FRESH-MARK STEADY-MARK ${randomBytes(8).toString('hex')}`));
    await until('steady', () => rulesOn(steadyToo), (r) => r.length > 0);
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(await rulesOn(steadyToo), ['steady'], 'a disabled ruleset notifies nothing, early or late');

    // The late path was taken (the race with the compile is won by the upload at least once).
    assert.ok(logged.some((l) => l.includes('they scan late')), 'some analysis scanned before a change compiled');
  });
});
