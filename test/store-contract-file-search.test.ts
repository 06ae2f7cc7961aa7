// The Store contract: searchFiles (Intelligence search over stored files), on every
// implementation (test/helpers/store-contract.ts). Queries are written in the search syntax and
// read by the real parser, so what is checked is what a client's query does.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { SearchOrder } from '../src/model/file-search.js';
import { parseSearchQuery } from '../src/search/search-query.js';
import type { Store } from '../src/store/store.js';
import { hashes, note, ruleset, storeContract, submission } from './helpers/store-contract.js';

const NOW = 1_700_100_000;
const PLAIN = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
const DESC: SearchOrder = { field: 'last_submission_date', dir: 'desc' };

/** The sha256s `query` finds, page after page of `limit`, following each page's last file. */
async function walk(s: Store, query: string, order = DESC, limit = 100, userId = 1): Promise<string[]> {
  const out: string[] = [];
  let after = null;
  for (;;) {
    const page = await s.searchFiles({ expr: parseSearchQuery(query, NOW), order, after, limit, userId });
    out.push(...page.map((f) => f.sha256));
    if (page.length < limit) return out;
    const last = page[page.length - 1]!;
    const value = { last_submission_date: last.lastSubmissionDate, first_submission_date: last.firstSubmissionDate, size: last.size, times_submitted: last.timesSubmitted }[order.field];
    after = { value, sha256: last.sha256 };
  }
}

/** Stores `content` submitted at `date` as `name`, analysed as `analysis`; returns its sha256. */
async function file(s: Store, content: string, date: number, name: string | null, analysis: Record<string, unknown> = {}, subfiles: { content: string; name: string }[] = []) {
  const sub = await s.addSubmission(submission(content, { date, name }));
  const [job] = await s.claimJobs('w', 1, 60_000);
  const a = { ...PLAIN, ...analysis };
  await s.completeAnalysis(job!.id, sub.id, a, date, [], {
    subfiles: subfiles.map((c) => ({ ...hashes(c.content), analysis: { ...a, ...PLAIN }, parents: [{ sha256: sub.sha256, name: c.name }] })),
  });
  return sub;
}

storeContract('Intelligence search over files', ({ fresh }) => {
  it('answers each modifier, NOT, OR and parentheses', async () => {
    const s = await fresh();
    const exe = (await file(s, 'MZ a program', NOW - 300, 'Setup_100%.EXE', { magic: 'PE32 executable (GUI) Intel 80386', typeTag: 'peexe', typeTags: ['executable', 'pe', 'peexe'], typeExtension: 'exe', tags: ['peexe', 'overlay'] })).sha256;
    const pdf = (await file(s, '%PDF a document of some length', NOW - 200, 'report.pdf', { magic: 'PDF document, version 1.4', typeTag: 'pdf', typeTags: ['pdf'], typeExtension: 'pdf', tags: ['pdf'] })).sha256;
    const zip = (await file(s, 'PK an archive', NOW - 100, 'bundle.zip', { typeTag: 'zip', typeTags: ['compressed', 'zip'], typeExtension: 'zip' }, [{ content: 'inside one', name: 'dir/one.txt' }])).sha256;
    const inside = hashes('inside one').sha256;
    await s.addSubmission(submission('MZ a program', { date: NOW - 50, name: 'again.exe', sourceKey: 'other' }));

    const cases: [string, string[]][] = [
      [exe, [exe]],
      [`md5:${hashes('MZ a program').md5}`, [exe]],
      ['type:peexe', [exe]], ['type:pe', [exe]], ['type:exe', [exe]], ['type:zip', [zip]], ['type:elf', []],
      ['-type:peexe', [zip, inside, pdf]],
      ['name:setup_100%', [exe]], ['name:ETUP', [exe]], ['name:_1', [exe]], ['name:one.txt', [inside]], ['name:"again.exe"', [exe]],
      ['magic:"pe32 executable"', [exe]], ['magic:pdf', [pdf]],
      ['tag:overlay', [exe]], ['tag:over', []],
      ['submissions:2+', [exe]], ['submissions:1-', [zip, inside, pdf]], ['submissions:0', [inside]],
      [`size:${'%PDF a document of some length'.length}+`, [pdf]], ['size:11-', [inside]], ['size:1kb-', [exe, zip, inside, pdf]],
      [`fs:${NOW - 200}+`, [zip, inside, pdf]], [`fs:${NOW - 200}-`, [exe]],
      [`ls:${NOW - 100}+`, [exe, zip, inside]],
      ['bundled:true', [inside]], ['bundled:false', [exe, zip, pdf]],
      [`parent:${zip}`, [inside]], [`parent:${hashes('PK an archive').sha1}`, [inside]], [`parent:${exe}`, []],
      ['type:peexe OR type:pdf', [exe, pdf]],
      ['NOT (type:peexe OR type:pdf) -bundled:true', [zip]],
      ['(type:zip OR tag:pdf) AND name:.', [zip, pdf]],
    ];
    // Ties (a subfile has its container's dates) are by sha256: compared as sets here, orders below.
    for (const [query, want] of cases) assert.deepEqual((await walk(s, query)).sort(), [...want].sort(), query);
  });

  it('answers crowdsourced_yara_rule: from the searcher\'s own notifications only', async () => {
    const s = await fresh();
    const r1 = await s.createRuleset(ruleset(1, 'mine'));
    const r2 = await s.createRuleset(ruleset(2, 'theirs'));
    const sub = await s.addSubmission(submission('matched', { date: NOW }));
    const [job] = await s.claimJobs('w', 1, 60_000);
    const analysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
    await s.completeAnalysis(job!.id, sub.id, analysis, NOW, [note(r1, sub, 'evil_rule', NOW), note(r2, sub, 'other_rule', NOW)]);
    assert.deepEqual(await walk(s, 'crowdsourced_yara_rule:evil_rule'), [sub.sha256]);
    assert.deepEqual(await walk(s, 'crowdsourced_yara_rule:000abc|evil_rule'), [sub.sha256]);
    assert.deepEqual(await walk(s, 'crowdsourced_yara_rule:other_rule'), [], "user 2's notification");
    assert.deepEqual(await walk(s, 'crowdsourced_yara_rule:other_rule', DESC, 10, 2), [sub.sha256]);
  });

  it('pages every order with ties by sha256, each file once, whatever is inserted between pages', async () => {
    const s = await fresh();
    // Pairs share a date and a size: ties the cursor must break by sha256.
    for (let i = 0; i < 12; i++) await s.addSubmission(submission(`file ${String(i % 6).padStart(2, '0')} ${'x'.repeat(i % 3)}${i}`, { date: NOW - (i >> 1) * 10 }));
    const all = await walk(s, 'size:0+', DESC, 1000);
    assert.equal(all.length, 12);
    for (const field of ['last_submission_date', 'first_submission_date', 'size', 'times_submitted'] as const) {
      for (const dir of ['asc', 'desc'] as const) {
        const order = { field, dir };
        const files = await s.getFiles(all);
        const key = (sha: string) => {
          const f = files.find((x) => x.sha256 === sha)!;
          return [{ last_submission_date: f.lastSubmissionDate, first_submission_date: f.firstSubmissionDate, size: f.size, times_submitted: f.timesSubmitted }[field], sha] as const;
        };
        const sign = dir === 'asc' ? 1 : -1;
        const want = [...all].sort((a, b) => sign * (key(a)[0] - key(b)[0] || (key(a)[1] < key(b)[1] ? -1 : 1)));
        for (const limit of [1, 3, 5]) assert.deepEqual(await walk(s, 'size:0+', order, limit), want, `${field} ${dir} by ${limit}`);
      }
    }
    // A walk with files stored between its pages sees every file it started with exactly once.
    const seen: string[] = [];
    let after = null;
    for (let n = 0; ; n++) {
      const page = await s.searchFiles({ expr: parseSearchQuery('size:0+', NOW), order: DESC, after, limit: 4, userId: 1 });
      seen.push(...page.map((f) => f.sha256));
      if (page.length < 4) break;
      await s.addSubmission(submission(`new ${n}`, { date: NOW - 25 }));
      after = { value: page[3]!.lastSubmissionDate, sha256: page[3]!.sha256 };
    }
    for (const sha of all) assert.equal(seen.filter((x) => x === sha).length, 1);
  });
});
