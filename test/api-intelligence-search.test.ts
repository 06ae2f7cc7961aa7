// Intelligence search by hashes and modifiers over real HTTP, on SQLite and PostgreSQL: real
// uploads (a PDF, texts, a zip with a member, one file submitted twice, one a ruleset of alice's
// matches), then every modifier, boolean forms, orders, cursors walked as vt-go (links.next) and
// vt-py (meta.cursor) do, and the errors.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, isVtError, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { postgresBackend } from './helpers/store-contract.js';

const hash = (alg: string, b: Buffer | string) => createHash(alg).update(b).digest('hex');
const SEARCH = '/api/v3/intelligence/search';

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n');
const TEXT = Buffer.from('plain words for a search test, nothing more\n');
const MARKED = Buffer.from('this text holds SEARCHMARK for the hunting rule\n');
const MEMBER = Buffer.from('a text kept inside the archive only\n'.repeat(20));
const ZIP = makeZip({ 'docs/member.txt': MEMBER });

function searchSuite(name: string, flags: () => Promise<Record<string, string>>, cleanup = async () => {}) {
  describe(name, () => {
    let s: TestService;
    let bob: string;
    const search = (query: string, extra = '', key = s.adminKey) => api(s.url, key, 'GET', `${SEARCH}?query=${encodeURIComponent(query)}${extra}`);
    const ids = async (query: string, extra = '', key?: string) => {
      const r = await search(query, extra, key);
      assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
      return (r.body.data as { id: string }[]).map((d) => d.id);
    };
    const same = (a: string[], b: string[], what: string) => assert.deepEqual([...a].sort(), [...b].sort(), what);
    const upload = async (content: Buffer, file: string, key = s.adminKey) => {
      const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, file));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitForAnalysis(s.url, key, r.body.data.id, 30_000);
    };
    const [pdf, text, marked, member, zip] = [PDF, TEXT, MARKED, MEMBER, ZIP].map((b) => hash('sha256', b)) as [string, string, string, string, string];

    before(async () => {
      s = await startTestService(await flags());
      bob = await newUser(s, 'bob');
      const rules = 'rule find_marker { strings: $a = "SEARCHMARK" condition: $a }';
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'marks', enabled: true, rules } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await upload(PDF, 'Quarterly Report.pdf');
      await upload(TEXT, 'notes.txt');
      await upload(ZIP, 'bundle.zip');
      // A second submission, by another user, a second later: times_submitted 2, the latest submission.
      await new Promise((res) => setTimeout(res, 1100));
      await upload(TEXT, 'again.txt', bob);
      await new Promise((res) => setTimeout(res, 1100));
      await upload(MARKED, 'marked.txt');
    });
    after(async () => {
      await s?.stop();
      await cleanup();
    });

    it('finds a file by its hash alone, as a File object', async () => {
      for (const alg of ['sha256', 'sha1', 'md5']) {
        const r = await search(hash(alg, PDF).toUpperCase());
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.data.length, 1);
        const [f] = r.body.data;
        assert.equal(f.type, 'file');
        assert.equal(f.id, pdf);
        assert.equal(f.attributes.md5, hash('md5', PDF));
        assert.match(f.links.self, new RegExp(`/api/v3/files/${pdf}$`));
        assert.equal(r.body.meta, undefined, 'one page');
      }
      assert.deepEqual(await ids('0'.repeat(64)), []);
      assert.deepEqual(await ids(`md5:${hash('md5', TEXT)}`), [text]);
    });

    it('answers each modifier', async () => {
      const sized = (ok: (n: number) => boolean) => [PDF, TEXT, MARKED, MEMBER, ZIP].filter((b) => ok(b.length)).map((b) => hash('sha256', b));
      const cases: [string, string[]][] = [
        ['type:pdf', [pdf]], ['type:zip', [zip]], ['type:compressed', [zip]], ['type:txt', [text, marked, member]],
        ['name:quarterly', [pdf]], ['name:"Report.PDF"', [pdf]], ['name:member.txt', [member]], ['name:again', [text]],
        ['magic:"pdf document"', [pdf]], ['magic:zip', [zip]],
        [`size:${TEXT.length}`, [text]], [`size:${MEMBER.length}+`, sized((n) => n >= MEMBER.length)], [`size:${PDF.length - 1}-`, sized((n) => n < PDF.length)],
        ['size:1kb-', sized((n) => n <= 1024)], ['size:0.5kb+', sized((n) => n >= 512)],
        ['submissions:2+', [text]], ['submissions:0', [member]],
        ['bundled:true', [member]], [`parent:${zip}`, [member]], [`parent:${hash('md5', ZIP)}`, [member]], [`bundled:${zip}`, [member]],
        ['crowdsourced_yara_rule:find_marker', [marked]],
        ['fs:2000-01-01+', [pdf, text, marked, member, zip]], ['fs:2000-01-01-', []], ['ls:1d+', [pdf, text, marked, member, zip]],
      ];
      for (const [query, want] of cases) same(await ids(query), want, query);
      const tagged = await search(`sha256:${pdf}`);
      same(await ids(`tag:${tagged.body.data[0].attributes.tags[0]}`), [pdf], 'tag: of one of its tags');
      // Rulesets are their owner's: bob's search by the rule finds nothing.
      same(await ids('crowdsourced_yara_rule:find_marker', '', bob), [], "bob's view");
      const day = new Date((await search(pdf)).body.data[0].attributes.first_submission_date * 1000).toISOString().slice(0, 10);
      same(await ids(`fs:${day}`), [pdf, text, marked, member, zip], 'fs:<day>');
    });

    it('answers AND, OR, NOT, -modifier: and parentheses', async () => {
      const cases: [string, string[]][] = [
        ['type:txt name:notes', [text]],
        ['type:txt AND -bundled:true', [text, marked]],
        ['type:pdf OR type:zip', [pdf, zip]],
        ['NOT type:txt', [pdf, zip]],
        ['(type:pdf OR bundled:true) size:1kb-', [pdf, member]],
        ['-(type:pdf OR type:txt)', [zip]],
      ];
      for (const [query, want] of cases) same(await ids(query), want, query);
    });

    it('orders most recent submission first by default, and as order= says', async () => {
      const all = 'size:0+';
      const first = await ids(all);
      assert.equal(first[0], marked, 'the latest submission first');
      assert.equal(first[1], text, 'resubmitted by bob after the others');
      const bySize = [PDF, TEXT, MARKED, MEMBER, ZIP].map((b) => [hash('sha256', b), b.length] as const);
      assert.deepEqual(await ids(all, '&order=size%2B'), [...bySize].sort((a, b) => a[1] - b[1]).map(([h]) => h));
      assert.deepEqual(await ids(all, '&order=size-'), [...bySize].sort((a, b) => b[1] - a[1]).map(([h]) => h));
      assert.equal((await ids(all, '&order=times_submitted-'))[0], text);
      assert.equal((await ids(all, '&order=first_submission_date-')).length, 5);
    });

    it('pages with meta.cursor and an absolute links.next carrying every parameter, each file once', async () => {
      const want = await ids('size:0+', '&order=size%2B');
      // vt-go: links.next, verbatim.
      let url: string | undefined = `${s.url}${SEARCH}?query=size%3A0%2B&order=size%2B&limit=2`;
      const seen: string[] = [];
      while (url) {
        const r = await api(s.url, s.adminKey, 'GET', url.slice(s.url.length));
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.ok(r.body.data.length > 0, 'never an empty page');
        seen.push(...r.body.data.map((d: any) => d.id));
        assert.equal(Boolean(r.body.meta?.cursor), Boolean(r.body.links.next), 'cursor and next together');
        if (r.body.links.next) assert.ok(r.body.links.next.startsWith(s.url) && r.body.links.next.includes('order=size%2B'), r.body.links.next);
        url = r.body.links.next;
      }
      assert.deepEqual(seen, want);
      // vt-py: the original parameters plus cursor=meta.cursor; a file stored meanwhile moves nothing.
      const p1 = await search('size:0+', '&order=size%2B&limit=3');
      await upload(Buffer.from('x'), 'tiny.bin');
      const p2 = await search('size:0+', `&order=size%2B&limit=3&cursor=${p1.body.meta.cursor}`);
      assert.deepEqual([...p1.body.data, ...p2.body.data].map((d: any) => d.id), want);
      assert.equal(p2.body.meta, undefined, 'the last page has no cursor');
      const d = await search('type:pdf', '&descriptors_only=true');
      assert.deepEqual(d.body.data, [{ type: 'file', id: pdf }]);
    });

    it('answers malformed queries, orders and cursors with a clear BadRequestError', async () => {
      const cases: [string, string, RegExp][] = [
        ['positives:5+', '', /unknown search modifier "positives:"/],
        ['type:pdf OR', '', /expected a term at the end of the query/],
        ['size:big', '', /sizes are a number/],
        ['type:pdf', '&order=positives-', /invalid order "positives-"/],
        ['type:pdf', '&cursor=bm9wZQ', /invalid cursor/],
        ['', '', /a query is required/],
      ];
      for (const [query, extra, message] of cases) {
        const r = await search(query, extra);
        assert.ok(isVtError(r, 400, 'BadRequestError'), `${query}${extra}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.match(r.body.error.message, message);
      }
      const p1 = await search('size:0+', '&limit=1');
      const other = await search('size:0+', `&limit=1&order=size-&cursor=${p1.body.meta.cursor}`);
      assert.ok(isVtError(other, 400, 'BadRequestError'));
      assert.match(other.body.error.message, /the cursor belongs to order=last_submission_date-, not size-/);
      const mixed = await search('content:"SEARCHMARK" type:txt');
      assert.ok(isVtError(mixed, 400, 'UnsupportedContentQueryError'), JSON.stringify(mixed.body));
      assert.ok(isVtError(await api(s.url, null, 'GET', `${SEARCH}?query=type:pdf`), 401, 'AuthenticationRequiredError'));
    });
  });
}

searchSuite('Intelligence search by modifiers (SQLite)', async () => ({}));

const pgUrl = process.env.TRAWL_TEST_PG_URL;
const pg = pgUrl ? postgresBackend(pgUrl) : null;
if (pg) searchSuite('Intelligence search by modifiers (PostgreSQL)', async () => ({ database: await pg.freshUrl() }), () => pg.cleanup());
else describe('Intelligence search by modifiers (PostgreSQL)', { skip: 'needs TRAWL_TEST_PG_URL' }, () => {});
