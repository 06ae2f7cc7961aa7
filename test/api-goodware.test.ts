// The goodware corpus end to end over real HTTP: an administrator's files (a zip among them, so
// subfiles belong to it too) are stored and analysed but never hunted, even by an enabled ruleset
// that matches them, and never reach anyone's notifications or IoC Stream; retrohunt jobs over the
// goodware corpus find them, jobs over the main corpus do not. A file uploaded both ways is in both.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, isVtError, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const GOODWARE = '/api/v3/trawl/corpus/goodware/files';
const RETROHUNT = '/api/v3/intelligence/retrohunt_jobs';
const MARK = 'GOODWARE_FP_MARK_51c2';
const RULE = `rule fp_mark { strings: $a = "${MARK}" condition: $a }`;

describe('goodware corpus', () => {
  let s: TestService;
  let alice: string;
  /** Contents added as goodware (the zip's members included) and uploaded by a user. */
  const goodware = { plain: `a known-good tool with ${MARK}`, member: `zip member with ${MARK}`, other: 'a member without the mark' };
  const zip = makeZip({ 'tools/member.txt': goodware.member, 'tools/other.txt': goodware.other });
  const userFile = `a user's sample with ${MARK}`;
  const both = `uploaded both ways with ${MARK}`;

  const add = async (content: Buffer | string, name: string) => {
    const r = await api(s.url, s.adminKey, 'POST', GOODWARE, fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.type, 'analysis');
    await waitForAnalysis(s.url, s.adminKey, r.body.data.id, 30_000);
  };
  const upload = async (key: string, content: string, name: string) => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, key, r.body.data.id, 30_000);
  };
  const retrohunt = async (corpus: string) => {
    const r = await api(s.url, alice, 'POST', RETROHUNT, { data: { type: 'retrohunt_job', attributes: { rules: RULE, corpus } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.data.attributes.corpus, corpus);
    const id = r.body.data.id;
    const done = await pollUntil(`job ${id}`, async () => (await api(s.url, alice, 'GET', `${RETROHUNT}/${id}`)).body.data, (j) => j.attributes.status === 'finished', 15_000, 25);
    assert.equal(done.attributes.corpus, corpus);
    const m = await api(s.url, alice, 'GET', `${RETROHUNT}/${id}/matching_files?limit=40`);
    return { job: done.attributes, matches: m.body.data as any[] };
  };

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    // Enabled before anything is added: Livehunt would notify her of every file with the mark.
    const r = await api(s.url, alice, 'POST', '/api/v3/intelligence/hunting_rulesets', {
      data: { type: 'hunting_ruleset', attributes: { name: 'fp_check', enabled: true, rules: RULE } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await add(goodware.plain, 'tool.exe');
    await add(zip, 'tools.zip');
    await add(both, 'shared.dll');
    await upload(alice, both, 'shared.dll');
    await upload(alice, userFile, 'sample.bin');
  });
  after(() => s?.stop());

  it('stores and analyses goodware, and unpacks it', async () => {
    const f = await api(s.url, alice, 'GET', `/api/v3/files/${sha256(zip)}/bundled_files`);
    assert.equal(f.status, 200, JSON.stringify(f.body));
    assert.deepEqual(f.body.data.map((x: any) => x.id).sort(), [sha256(goodware.member), sha256(goodware.other)].sort());
    const plain = await api(s.url, alice, 'GET', `/api/v3/files/${sha256(goodware.plain)}`);
    assert.equal(plain.status, 200);
    assert.deepEqual(plain.body.data.attributes.names, ['tool.exe']);
    assert.equal(typeof plain.body.data.attributes.last_analysis_date, 'number');
  });

  it('never notifies anyone of goodware, though an enabled ruleset matches it; a user\'s upload of it is notified', async () => {
    const files = await api(s.url, alice, 'GET', '/api/v3/intelligence/hunting_notification_files?limit=40');
    assert.equal(files.status, 200, JSON.stringify(files.body));
    assert.deepEqual(files.body.data.map((x: any) => x.id).sort(), [sha256(userFile), sha256(both)].sort());
    const stream = await api(s.url, alice, 'GET', '/api/v3/ioc_stream?limit=40');
    assert.deepEqual(stream.body.data.map((x: any) => x.id).sort(), [sha256(userFile), sha256(both)].sort());
    const admin = await api(s.url, s.adminKey, 'GET', '/api/v3/intelligence/hunting_notifications');
    assert.deepEqual(admin.body.data, []);
  });

  it('retrohunt over goodware finds the goodware files and their subfiles; over main, the users\' files only', async () => {
    const g = await retrohunt('goodware');
    const found = new Map(g.matches.map((x) => [x.id, x.context_attributes.match_in_subfile]));
    assert.deepEqual([...found.keys()].sort(), [sha256(goodware.plain), sha256(goodware.member), sha256(both)].sort());
    assert.equal(found.get(sha256(goodware.member)), true);
    assert.equal(found.get(sha256(goodware.plain)), false);
    // The goodware corpus only: the three added, the zip's two members, nothing of the user's own.
    const goodwareBytes = [goodware.plain, zip, both, goodware.member, goodware.other].reduce((n, c) => n + Buffer.byteLength(c), 0);
    assert.equal(g.job.scanned_bytes, goodwareBytes);
    const m = await retrohunt('main');
    assert.deepEqual(m.matches.map((x) => x.id).sort(), [sha256(userFile), sha256(both)].sort());
    assert.equal(m.job.scanned_bytes, Buffer.byteLength(userFile) + Buffer.byteLength(both));
  });

  it('is for administrators only: anyone else is refused before the file is stored', async () => {
    const content = `not goodware ${MARK} ${Date.now()}`;
    const r = await api(s.url, alice, 'POST', GOODWARE, fileForm(content, 'x.bin'));
    assert.ok(isVtError(r, 403, 'ForbiddenError'), JSON.stringify(r.body));
    assert.ok(isVtError(await api(s.url, alice, 'GET', `/api/v3/files/${sha256(content)}`), 404, 'NotFoundError'));
  });
});
