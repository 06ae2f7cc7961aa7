// A ruleset that makes scans time out, on a file crafted for it: it is found, reported on the
// ruleset and quarantined; every other ruleset still gets its matches; from then on it scans in the
// late lane, after the analyses, so that nobody else's upload waits for it, and its own matches
// still arrive.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const RULESETS = '/api/v3/intelligence/hunting_rulesets';
// Quadratic in the file size: far beyond a one-second timeout on 300 KB. Guarded by its size so
// that it passes the speed probe at creation (whose files are smaller): quarantine is for what the
// probe cannot see.
const SLOW = 'rule slow_loop { strings: $m = "SLOW-MARK" condition: $m or (filesize > 300000 and for all i in (0..filesize - 1) : (for all j in (0..filesize - 1) : (uint8(i) + uint8(j) >= 0))) }';
const BIG = 310 * 1024;

describe('slow rulesets', () => {
  let s: TestService;

  before(async () => {
    s = await startTestService({ scanTimeout: '1', slowScan: '1' });
  });
  after(async () => s.stop());

  const create = async (name: string, rules: string, key = s.adminKey) => {
    const r = await api(s.url, key, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name, rules, enabled: true } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.id as string;
  };
  const send = async (content: Buffer, key = s.adminKey) => (await api(s.url, key, 'POST', '/api/v3/files', fileForm(content))).body.data.id as string;
  const upload = async (content: Buffer, key = s.adminKey) => waitForAnalysis(s.url, key, await send(content, key), 60_000);
  const matchesOf = async (rule: string, key = s.adminKey) =>
    (await api(s.url, key, 'GET', `/api/v3/intelligence/hunting_notifications?filter=tag:${rule}&limit=40`)).body.data as { attributes: { match_in_subfile: boolean } }[];
  const slowScans = async (id: string) => (await api(s.url, s.adminKey, 'GET', `${RULESETS}/${id}`)).body.data.attributes.slow_scans as number;
  const until = <T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> => pollUntil(what, fn, ok, ms);

  it('finds the ruleset that timed out, reports it, keeps the others\' matches, then scans it late', async () => {
    const slow = await create('slowpoke', SLOW);
    await create('quick', 'rule quick_one { strings: $a = "QUICK-MARK" condition: $a }');
    const crafted = Buffer.concat([Buffer.from('QUICK-MARK'), randomBytes(BIG)]);
    await upload(crafted);
    assert.equal((await matchesOf('quick_one')).length, 1, 'the other ruleset matched although the shared scan timed out');
    const a = (await api(s.url, s.adminKey, 'GET', `${RULESETS}/${slow}`)).body.data.attributes;
    assert.ok(a.slow_scans >= 1);
    assert.equal(a.last_slow_scan.timed_out, true);
    assert.equal(typeof a.last_slow_scan.date, 'number');
    assert.match(a.last_slow_scan.sha256, /^[0-9a-f]{64}$/);

    // Quarantined, it scans that file again by itself, late (its first scan was cut off): slow again.
    await until('slow scans', () => slowScans(slow), (n) => n === 2);
    // From now on it scans alone after each analysis, times out by itself and is reported again.
    await upload(Buffer.concat([Buffer.from('QUICK-MARK'), randomBytes(BIG)]));
    assert.equal((await matchesOf('quick_one')).length, 2);
    await until('slow scans', () => slowScans(slow), (n) => n === 3);
    // Small files are quick for it: nothing is reported, and its matches arrive (late).
    await upload(Buffer.from('QUICK-MARK SLOW-MARK small'));
    assert.equal((await matchesOf('quick_one')).length, 3);
    const late = await until('the quarantined ruleset\'s notification', () => matchesOf('slow_loop'), (l) => l.length === 1);
    assert.equal(late[0]!.attributes.match_in_subfile, false);
    assert.equal(await slowScans(slow), 3);

    // Its owner uploads three large files: each late scan takes a second. Another user's upload
    // is analysed and notified meanwhile, not after them.
    const other = await newUser(s, 'bystander');
    await create('theirs', 'rule bystander_rule { strings: $a = "BYSTANDER" condition: $a }', other);
    for (let i = 0; i < 3; i++) await send(randomBytes(BIG));
    await upload(Buffer.from('BYSTANDER file'), other);
    assert.equal((await matchesOf('bystander_rule', other)).length, 1);
    assert.ok(await slowScans(slow) <= 4, 'the other user\'s analysis did not wait for the late scans');
    await until('slow scans', () => slowScans(slow), (n) => n === 6);
  });
});

describe('slow rulesets refused at creation', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService();
  });
  after(async () => s.stop());

  it('measures a new or changed ruleset on probe files and refuses one far slower than rules are', async () => {
    const post = (name: string, rules: string) => api(s.url, s.adminKey, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name, rules, enabled: true } } });
    // The audit's rule: no slow pattern for the engine to warn about, and it never finishes.
    const quadratic = 'rule slow { condition: for all i in (0..filesize) : ( for all j in (0..filesize) : ( uint8(i) != uint8(j) or true ) ) }';
    const refused = await post('quadratic', quadratic);
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'InvalidArgumentError');
    assert.match(refused.body.error.message, /too slow to hunt with: .*did not finish within 1 s/);
    // A loop over every byte is linear: accepted.
    const linear = await post('linear', 'rule linear { condition: for all i in (0..filesize - 1) : (uint8(i) != 0x100) }');
    assert.equal(linear.status, 200, JSON.stringify(linear.body));
    // A change to a slow one is refused too, and the ruleset keeps its rules.
    const id = linear.body.data.id as string;
    const patched = await api(s.url, s.adminKey, 'PATCH', `${RULESETS}/${id}`, { data: { type: 'hunting_ruleset', attributes: { rules: quadratic } } });
    assert.equal(patched.status, 400);
    assert.match((await api(s.url, s.adminKey, 'GET', `${RULESETS}/${id}`)).body.data.attributes.rules, /rule linear/);
  });
});

describe('the scan size limit', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService({ maxScanBytes: '1000' });
  });
  after(async () => s.stop());

  it('stores and analyses larger files but does not scan them', async () => {
    const r = await api(s.url, s.adminKey, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name: 'sized', enabled: true, rules: 'rule sized { strings: $a = "SIZE-MARK" condition: $a }' } } });
    assert.equal(r.status, 200);
    for (const size of [500, 2000]) {
      const u = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(Buffer.concat([Buffer.from('SIZE-MARK'), randomBytes(size - 9)])));
      const done = await waitForAnalysis(s.url, s.adminKey, u.body.data.id);
      assert.equal(done.attributes.status, 'completed');
    }
    const got = (await api(s.url, s.adminKey, 'GET', '/api/v3/intelligence/hunting_notification_files?filter=sized')).body.data;
    assert.deepEqual(got.map((d: any) => d.attributes.size), [500]);
  });
});
