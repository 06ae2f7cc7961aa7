// `trawl corpus add goodware` and `trawl hunting ruleset add --preflight` against a real service:
// a directory tree added to the goodware corpus (administrators only), then rulesets tried on it
// before they go live: created enabled when nothing matches, or when confirmed (--yes, or an answer
// on a terminal); refused, and not created, otherwise.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { huntingCommand } from '../src/cli/hunting.js';
import { makeZip } from './helpers/archives.js';
import { api, newUser, runCli, startTestService, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const MARK = 'PREFLIGHT_FP_7d1e';

describe('trawl corpus add goodware and hunting ruleset add --preflight', () => {
  let s: TestService;
  let alice: string;
  let dir: string;
  const files = { top: `top-level tool ${MARK}`, plain: 'nothing to see', member: `zipped ${MARK}` };
  const zip = makeZip({ 'member.txt': files.member });

  const trawl = (key: string, ...args: string[]) => runCli([...args, '--url', s.url, '--apikey', key]);
  const rulesFile = async (name: string, rules: string) => {
    const path = join(s.dir, name);
    await writeFile(path, rules);
    return path;
  };
  /** `trawl hunting ruleset add --preflight` as alice, with `answer` typed once the question is asked (on a terminal when given). */
  const preflightAdd = async (name: string, path: string, answer?: string) => {
    const out = new PassThrough();
    const err = new PassThrough();
    const stdin = Object.assign(new PassThrough(), { isTTY: answer !== undefined });
    let o = '';
    let e = '';
    out.on('data', (c) => (o += c));
    err.on('data', (c) => {
      e += c;
      if (answer !== undefined && e.includes('[y/N]')) stdin.write(`${answer}\n`);
    });
    const code = await huntingCommand(['ruleset', 'add', name, path], { config: { url: s.url, apikey: alice }, preflight: true, out, err, stdin, pollMs: 50 });
    return { code, out: o, err: e };
  };
  const rulesets = async () => (await api(s.url, alice, 'GET', '/api/v3/intelligence/hunting_rulesets')).body.data.map((r: any) => [r.attributes.name, r.attributes.enabled]);

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    dir = join(s.dir, 'goodware');
    await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
    await writeFile(join(dir, 'tool.exe'), files.top);
    await writeFile(join(dir, 'sub', 'readme.txt'), files.plain);
    await writeFile(join(dir, 'sub', 'deeper', 'bundle.zip'), zip);
  });
  after(() => s?.stop());

  it('adds a directory tree to the goodware corpus, for administrators only', async () => {
    const r = await trawl(s.adminKey, 'corpus', 'add', 'goodware', dir, '--wait');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => l.split('  '));
    assert.deepEqual(lines.map((l) => l[0]).sort(), [files.top, files.plain, zip].map(sha256).sort());
    assert.match(r.err, /3 files, [\d.]+ MB added to the goodware corpus in .*; 0 failed/);
    assert.match(r.err, /3 of 3 analyses completed/);
    // Stored and unpacked, as the goodware corpus.
    const members = await api(s.url, alice, 'GET', `/api/v3/files/${sha256(zip)}/bundled_files`);
    assert.deepEqual(members.body.data.map((f: any) => f.id), [sha256(files.member)]);

    const refused = await trawl(alice, 'corpus', 'add', 'goodware', join(s.dir, 'rules-nowhere'), dir);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /ForbiddenError/);
    assert.equal((await trawl(s.adminKey, 'corpus', 'add', 'main', dir)).code, 2);
    assert.equal((await trawl(s.adminKey, 'corpus', 'add', 'goodware')).code, 2);
  });

  it('refuses to enable a ruleset that matches goodware, showing the matches, unless confirmed', async () => {
    const path = await rulesFile('fp.yar', `rule fp_mark { strings: $a = "${MARK}" condition: $a }`);
    const refused = await preflightAdd('fp', path);
    assert.equal(refused.code, 1, refused.err);
    assert.equal(refused.out, '');
    assert.match(refused.err, /2 matches in the goodware corpus/);
    assert.match(refused.err, new RegExp(`fp_mark  ${sha256(files.top)}  tool\\.exe`));
    assert.match(refused.err, new RegExp(`fp_mark  ${sha256(files.member)}  member\\.txt`));
    assert.match(refused.err, /refusing to enable/);
    const declined = await preflightAdd('fp', path, 'n');
    assert.equal(declined.code, 1, declined.err);
    assert.deepEqual(await rulesets(), []);

    const confirmed = await preflightAdd('fp confirmed', path, 'y');
    assert.equal(confirmed.code, 0, confirmed.err);
    assert.equal(JSON.parse(confirmed.out).attributes.enabled, true);
    const forced = await trawl(alice, 'hunting', 'ruleset', 'add', 'fp forced', path, '--preflight', '--yes');
    assert.equal(forced.code, 0, forced.err);
    assert.match(forced.err, /enabling anyway/);
    assert.deepEqual((await rulesets()).sort(), [['fp confirmed', true], ['fp forced', true]]);
  });

  it('creates the ruleset enabled when nothing in the goodware corpus matches; bad rules create nothing', async () => {
    const clean = await preflightAdd('clean', await rulesFile('clean.yar', 'rule clean { strings: $a = "NOT_IN_ANY_GOODWARE" condition: $a }'));
    assert.equal(clean.code, 0, clean.err);
    assert.match(clean.err, /no match in the goodware corpus/);
    assert.doesNotMatch(clean.err, /\[y\/N\]/);
    const created = JSON.parse(clean.out);
    assert.equal(created.attributes.name, 'clean');
    assert.equal(created.attributes.enabled, true);
    const before = (await rulesets()).length;
    const bad = await preflightAdd('bad', await rulesFile('bad.yar', 'rule bad { condition: nope }'));
    assert.equal(bad.code, 1);
    assert.match(bad.err, /InvalidArgumentError/);
    assert.equal((await rulesets()).length, before);
  });
});
