// Content search end to end over real HTTP: real uploads (text, binary, a deflated zip and a
// stored one, so subfiles are searched too), then `content:` searches of every kind, each held to
// a brute-force check over every stored file's bytes; paging, snippets, the errors of VirusTotal's
// content search, another user's view, vt-cli's exact URLs, and the search's own page budget.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { ContentIndex } from '../src/content-index/content-index.js';
import { ContentSearch, contentSearchThreads } from '../src/content-index/content-search.js';
import { blobStoreOf, startService, type Service } from '../src/main.js';
import { makeZip } from './helpers/archives.js';
import { makeStoredZip } from './helpers/archive-writers.js';
import { api, fileForm, isVtError, newUser, pollUntil, startTestService, waitForAnalysis, type JsonResponse, type TestService } from './helpers/service.js';
import { postgresBackend } from './helpers/store-contract.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const latin1 = (b: Buffer) => b.toString('latin1');
const SEARCH = '/api/v3/intelligence/search';
/** Go's url.QueryEscape (vt-go's url.Values.Encode): spaces as +, everything but [A-Za-z0-9-_.~] escaped. */
const goEscape = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');

/** Random bytes with `parts` written in at the given offsets. */
function binary(size: number, parts: [number, Buffer | string][]): Buffer {
  const b = randomBytes(size);
  for (const [at, p] of parts) (typeof p === 'string' ? Buffer.from(p, 'latin1') : p).copy(b, at);
  return b;
}

describe('content search', () => {
  let s: TestService;
  let alice: string;
  let bob: string;
  /** Every stored file's bytes (uploads and archive members), by sha256. */
  const contents = new Map<string, Buffer>();
  /** Files known only from inside archives. */
  const members = new Set<string>();
  /** Its trigrams are all those of "virustotal.com", the string itself is not in it. */
  const falsePositive = Buffer.from('FALSEPOS: virustotal.co then .com COMMONMARK');
  const text1 = Buffer.from('Lorem ipsum dolor sit amet, consvirustotal.com and then some more text to end the line. COMMONMARK\n');

  const upload = async (key: string, content: Buffer, name: string) => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, key, r.body.data.id, 30_000);
    contents.set(sha256(content), content);
  };
  const member = (c: Buffer | string) => {
    const b = Buffer.from(c);
    contents.set(sha256(b), b);
    members.add(sha256(b));
    return b;
  };
  const search = (key: string, query: string, extra = '') => api(s.url, key, 'GET', `${SEARCH}?query=${encodeURIComponent(query)}${extra}`);
  /** Every result of a search, page after page through links.next. */
  const all = async (key: string, query: string, limit = 40) => {
    const items: any[] = [];
    let url: string | undefined = `${SEARCH}?query=${encodeURIComponent(query)}&limit=${limit}`;
    while (url) {
      const r: JsonResponse = await api(s.url, key, 'GET', url);
      assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
      assert.ok(r.body.data.length > 0 || !r.body.links.next, 'no empty page with a cursor');
      assert.equal(r.body.meta?.cursor !== undefined, r.body.links.next !== undefined);
      items.push(...r.body.data);
      url = r.body.links.next;
    }
    return items;
  };
  const expected = (holds: (b: Buffer) => boolean) => [...contents].filter(([, c]) => holds(c)).map(([h]) => h).sort();

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
    await upload(alice, text1, 'text1.txt');
    await upload(alice, Buffer.from('Hello from VirusTotal.ORG! plusvic-yara here. COMMONMARK the quick brown fox'), 'text2.txt');
    await upload(alice, binary(3000, [[100, Buffer.from('cafebabe', 'hex')], [500, 'plusvic\x00yara'], [900, 'plus--YAra'], [1300, 'the quick brown fox'], [2000, 'COMMONMARK']]), 'bin1.bin');
    await upload(bob, binary(2000, [[40, Buffer.from('CAFEBABE', 'hex')], [700, 'virustotal.org'], [1500, 'COMMONMARK'], [1600, 'VARUST']]), 'bin2.bin');
    await upload(bob, Buffer.from('VIRUSTOTAL.ORG in capitals, plus-_yara and COMMONMARK'), 'text3.txt');
    await upload(alice, falsePositive, 'fp.txt');
    const zipped = {
      'inner/secret.txt': member('ZIPPED-SECRET-PAYLOAD inside; COMMONMARK virustotal.com'),
      'inner/blob.bin': member(binary(1500, [[3, Buffer.from('cafebabe', 'hex')], [200, 'virustotal.com'], [800, 'COMMONMARK']])),
    };
    await upload(alice, makeZip(zipped), 'bundle.zip');
    const stored = member('stored member: STORED-ONLY-MARK plusvicXyara COMMONMARK');
    await upload(bob, makeStoredZip([{ name: 'stored.txt', content: stored }]), 'stored.zip');
  });
  after(() => s?.stop());

  const cases: [string, (b: Buffer) => boolean][] = [
    ['content:"virustotal.com"', (b) => b.includes('virustotal.com')],
    ['content:virustotal.com', (b) => b.includes('virustotal.com')],
    ['content:{cafebabe}', (b) => b.includes(Buffer.from('cafebabe', 'hex'))],
    ['content:{70 6C 75 73 76 69 63 [1] 79 61 72 61}', (b) => /plusvic[\s\S]yara/.test(latin1(b))],
    ['content:{70 6C 75 73 ?? [1-3] (79 61|59 41) 72 61}', (b) => /plus[\s\S][\s\S]{1,3}(?:ya|YA)ra/.test(latin1(b))],
    ['content:{56 4? 52 55 53 54}', (b) => /V[\x40-\x4f]RUST/.test(latin1(b))],
    ['content:/virustotal(.org|.com)/', (b) => /virustotal(?:[^\n]org|[^\n]com)/.test(latin1(b))],
    ['content:/virustotal\\.org/i', (b) => /virustotal\.org/i.test(latin1(b))],
    ['content:"plusvic\\x00yara"', (b) => b.includes('plusvic\x00yara')],
    ['content:ZIPPED-SECRET-PAYLOAD', (b) => b.includes('ZIPPED-SECRET-PAYLOAD')],
    ['content:STORED-ONLY-MARK', (b) => b.includes('STORED-ONLY-MARK')],
    ['content:"quick brown" content:{ca fe ba be}', (b) => b.includes('quick brown') && b.includes(Buffer.from('cafebabe', 'hex'))],
    ['content:"quick brown" AND content:/plus[a-z]+/', (b) => b.includes('quick brown') && /plus[a-z]/.test(latin1(b))],
    // A term the index cannot use, bounded by another.
    ['content:{ca fe} content:"virustotal.com"', (b) => b.includes(Buffer.from('cafe', 'hex')) && b.includes('virustotal.com')],
  ];
  for (const [query, holds] of cases) {
    it(`finds exactly the files holding ${query}`, async () => {
      const want = expected(holds);
      assert.ok(want.length > 0, 'the corpus holds some');
      const items = await all(alice, query);
      assert.deepEqual(items.map((i) => i.id), want, 'in sha256 order, each once');
      for (const i of items) {
        assert.equal(i.type, 'file');
        assert.equal(i.attributes.sha256, i.id);
        assert.equal(i.attributes.size, contents.get(i.id)!.length);
        assert.equal(i.context_attributes.confidence, 1);
        assert.equal(typeof i.context_attributes.snippet, 'string');
        assert.equal(i.context_attributes.match_in_subfile, members.has(i.id), `${i.id} match_in_subfile`);
      }
    });
  }

  it('searches subfiles: a member of a deflated zip is found, the zip is not', async () => {
    const items = await all(alice, 'content:ZIPPED-SECRET-PAYLOAD');
    assert.equal(items.length, 1);
    assert.equal(items[0].context_attributes.match_in_subfile, true);
    // A stored zip holds its member's bytes: both are found, only the member as a subfile.
    const stored = await all(alice, 'content:STORED-ONLY-MARK');
    assert.deepEqual(stored.map((i) => i.context_attributes.match_in_subfile).sort(), [false, true]);
  });

  it('verifies what the index only narrows: a file with every trigram but not the string is not a result', async () => {
    assert.ok(!(await all(alice, 'content:"virustotal.com"')).some((i) => i.id === sha256(falsePositive)));
  });

  it('walks every result with limit 1, each once, through meta.cursor and links.next', async () => {
    const want = expected((b) => b.includes('COMMONMARK'));
    assert.ok(want.length >= 8, `${want.length} files`);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const r = await search(alice, 'content:COMMONMARK', `&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.data.length, 1);
      seen.push(r.body.data[0].id);
      cursor = r.body.meta?.cursor;
      if (!cursor) {
        assert.equal(r.body.links.next, undefined);
        break;
      }
      assert.equal(new URL(r.body.links.next).searchParams.get('cursor'), cursor);
      assert.equal(new URL(r.body.links.next).searchParams.get('query'), 'content:COMMONMARK');
      assert.equal(new URL(r.body.links.next).searchParams.get('limit'), '1');
    }
    assert.deepEqual(seen, want);
    assert.deepEqual(await all(alice, 'content:COMMONMARK', 3).then((items) => items.map((i) => i.id)), want);
  });

  it('shows another user the same results: every stored file is anyone\'s to find', async () => {
    for (const query of ['content:COMMONMARK', 'content:{cafebabe}', 'content:/virustotal\\.org/i']) {
      assert.deepEqual((await all(bob, query)).map((i) => i.id), (await all(alice, query)).map((i) => i.id), query);
    }
  });

  it('serves the snippet of a result: the lines around each term\'s first match, highlighted between \\x1c and \\x1d', async () => {
    const r = await search(alice, 'content:"virustotal.com"');
    const item = r.body.data.find((i: any) => i.id === sha256(text1));
    const sn = await api(s.url, alice, 'GET', `${SEARCH}/snippets/${item.context_attributes.snippet}`);
    assert.equal(sn.status, 200, JSON.stringify(sn.body));
    assert.equal(sn.body.data.length, 1);
    // The match is bytes 32-45 of text1: line 2 of the file, with the lines before and after.
    const lines = sn.body.data[0].split('\n');
    assert.equal(lines.length, 3);
    assert.ok(lines[0].startsWith('72 20 73 69 74 20'), lines[0]); // "r sit "
    assert.equal(lines[2].includes('\x1c'), false);
    assert.ok(lines[1].startsWith('\x1c76 69 72 75 73 74 6F 74 61 6C 2E 63 6F 6D \x1d20 61'), JSON.stringify(lines[1]));
    assert.ok(lines[1].endsWith('  \x1cvirustotal.com\x1d a'), JSON.stringify(lines[1]));
    // Another user reads it too; two terms give two snippets.
    assert.equal((await api(s.url, bob, 'GET', `${SEARCH}/snippets/${item.context_attributes.snippet}`)).status, 200);
    const two = await search(alice, 'content:"quick brown" content:{ca fe ba be}');
    const sn2 = await api(s.url, alice, 'GET', `${SEARCH}/snippets/${two.body.data[0].context_attributes.snippet}`);
    assert.equal(sn2.body.data.length, 2);
    // "quick brown" is at 1304 in bin1: it runs over into the next line.
    assert.ok(sn2.body.data[0].includes('\x1cquick br\x1d\n'), sn2.body.data[0]);
    assert.ok(sn2.body.data[0].includes('\x1cown\x1d fox'), sn2.body.data[0]);
    assert.ok(sn2.body.data[1].includes('\x1cCA FE BA BE'), sn2.body.data[1]);
    for (const bad of ['nope', 'AAAA', item.context_attributes.snippet.slice(0, -3), Buffer.alloc(40).toString('base64url')]) {
      const res = await api(s.url, alice, 'GET', `${SEARCH}/snippets/${bad}`);
      assert.ok(isVtError(res, 404, 'NotFoundError'), `${bad}: ${JSON.stringify(res.body)}`);
    }
  });

  it('answers descriptors with descriptors_only=true', async () => {
    const r = await search(alice, 'content:{cafebabe}', '&descriptors_only=true');
    assert.equal(r.status, 200);
    for (const i of r.body.data) {
      assert.deepEqual(Object.keys(i).sort(), ['context_attributes', 'id', 'type']);
      assert.equal(i.type, 'file');
    }
  });

  it('refuses what it cannot search with VirusTotal\'s content search errors', async () => {
    const cases: [string, number, string, RegExp][] = [
      ['content:{ca fe}', 400, 'UnselectiveContentQueryError', /content:\{ca fe\}.*not selective enough/],
      ['content:/foo|barbaz/', 400, 'UnselectiveContentQueryError', /not selective/],
      ['content:ab', 400, 'UnselectiveContentQueryError', /3 consecutive known bytes/],
      ['content:{ca fe zz}', 400, 'UnsupportedContentQueryError', /"zz" is not hex/],
      ['content:{cafebab}', 400, 'UnsupportedContentQueryError', /content:\{cafebab\}: "b" is not hex/],
      ['content:{ca fe (ba | be}', 400, 'UnsupportedContentQueryError', /content:\{ca fe \(ba \| be\}: syntax error: expecting .*found `\}`/],
      ['content:{~?? ca fe ba}', 400, 'UnsupportedContentQueryError', /^content:\{~\?\? ca fe ba\}: invalid pattern: negation of `\?\?` is not allowed$/],
      ['content:{ca [5-2] fe ba be}', 400, 'UnsupportedContentQueryError', /lower bound \(5\) is greater than upper bound \(2\)/],
      ['content:"abc', 400, 'UnsupportedContentQueryError', /no closing quote/],
      ['content:"abc\\qdef"', 400, 'UnsupportedContentQueryError', /unknown escape \\q/],
      ['content:/foo(bar/', 400, 'UnsupportedContentQueryError', /unclosed group/],
      ['content:COMMONMARK content:/foo[bar/', 400, 'UnsupportedContentQueryError', /^content:\/foo\[bar\/: invalid regular expression: unclosed character class$/],
      ['content:/foobar/x', 400, 'UnsupportedContentQueryError', /unknown regex flag/],
      ['content:{cafebabe', 400, 'UnsupportedContentQueryError', /no closing \}/],
      ['content:', 400, 'UnsupportedContentQueryError', /followed by nothing/],
      ['content:"virustotal" type:peexe', 400, 'UnsupportedContentQueryError', /"type:peexe": only content: terms/],
      ['content:"virustotal" OR content:"foobar"', 400, 'UnsupportedContentQueryError', /OR is not supported/],
      // Queries without content: are file searches (api-intelligence-search.test.ts).
      ['eicar', 400, 'BadRequestError', /a bare word must be an MD5, SHA-1 or SHA-256/],
      ['type:peexe p:5+', 400, 'BadRequestError', /unknown search modifier "p:"/],
      ['', 400, 'BadRequestError', /a query is required/],
    ];
    for (const [query, status, code, message] of cases) {
      const r = await search(alice, query);
      assert.ok(isVtError(r, status, code), `${query}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.match(r.body.error.message, message, query);
    }
    assert.ok(isVtError(await api(s.url, alice, 'GET', SEARCH), 400, 'BadRequestError'));
    assert.ok(isVtError(await search(alice, 'content:COMMONMARK', '&cursor=bm9wZQ'), 400, 'BadRequestError'));
    assert.ok(isVtError(await search(alice, 'content:COMMONMARK', '&limit=0'), 400, 'BadRequestError'));
    assert.ok(isVtError(await api(s.url, null, 'GET', `${SEARCH}?query=content:COMMONMARK`), 401, 'AuthenticationRequiredError'));
  });

  it('answers vt-cli\'s requests as sent (vt search content, vt-go\'s iterator)', async () => {
    // `vt search content '{cafebabe}' ...`: one arg each prefixed content:, joined by spaces;
    // vt-go's Search puts it in `query`, its iterator adds limit=<batch size> (10), encodes with
    // url.Values.Encode (keys sorted), then follows links.next verbatim until a page is empty or
    // has no next; each File object's snippet is fetched from intelligence/search/snippets/<id>.
    const vtCli = async (args: string[], key = alice) => {
      const query = args.map((a) => `content:${a}`).join(' ');
      let next: string | undefined = `${s.url}/api/v3/intelligence/search?limit=10&query=${goEscape(query)}`;
      const ids: string[] = [];
      while (next) {
        const r: JsonResponse = await api(s.url, key, 'GET', next, undefined, { 'user-agent': 'vt-cli 1.0.0; vtgo 1.0.0; gzip' });
        assert.equal(r.status, 200, `${query}: ${JSON.stringify(r.body)}`);
        assert.ok(Array.isArray(r.body.data));
        for (const o of r.body.data) {
          assert.equal(typeof o.context_attributes.confidence, 'number');
          const snippetId: string = o.context_attributes.snippet;
          const sn = await api(s.url, key, 'GET', `${s.url}/api/v3/intelligence/search/snippets/${snippetId}`);
          assert.equal(sn.status, 200);
          assert.ok(sn.body.data.every((x: unknown) => typeof x === 'string' && x.includes('\x1c') && x.includes('\x1d')));
          ids.push(o.id);
        }
        if (r.body.data.length === 0) break;
        next = r.body.links.next;
      }
      return ids;
    };
    assert.deepEqual(await vtCli(['{cafebabe}']), expected((b) => b.includes(Buffer.from('cafebabe', 'hex'))));
    assert.deepEqual(await vtCli(['{70 6C 75 73 76 69 63 [1] 79 61 72 61}']), expected((b) => /plusvic[\s\S]yara/.test(latin1(b))));
    assert.deepEqual(await vtCli(['/virustotal(.org|.com)/'], bob), expected((b) => /virustotal(?:[^\n]org|[^\n]com)/.test(latin1(b))));
    assert.deepEqual(await vtCli(['"quick brown"', '{cafebabe}']), expected((b) => b.includes('quick brown') && b.includes(Buffer.from('cafebabe', 'hex'))));
    assert.deepEqual(await vtCli(['COMMONMARK']), expected((b) => b.includes('COMMONMARK')));
    // `-i`/`--download` add descriptors_only=true.
    const d = await api(s.url, alice, 'GET', `${SEARCH}?descriptors_only=true&limit=10&query=${goEscape('content:{cafebabe}')}`);
    assert.equal(d.status, 200);
    assert.ok(d.body.data.length > 0 && d.body.data.every((o: any) => o.attributes === undefined));
  });

  it('stops a page at its time budget, moves on by one file at least, and leaves out files over maxScanBytes', async () => {
    const blobs = blobStoreOf(s.config, 'content-search-test');
    const index = new ContentIndex(s.store, blobs);
    const threads = contentSearchThreads(1, 0);
    try {
      // No time at all: every page examines exactly one candidate, and the walk still finds every result.
      const eager = new ContentSearch(s.store, blobs, index, threads, { maxScanBytes: 1 << 30, pageMs: 0, emptyPageMs: 0 });
      const found: string[] = [];
      let pages = 0;
      let empty = 0;
      let after: string | null = null;
      let candidates = 0;
      do {
        const p = await eager.search('content:"virustotal.com"', { after, limit: 10 });
        pages++;
        candidates = p.candidates;
        assert.ok(p.matches.length <= 1);
        if (p.matches.length === 0) empty++;
        found.push(...p.matches.map((m) => m.file.sha256));
        after = p.next;
      } while (after);
      assert.deepEqual(found, expected((b) => b.includes('virustotal.com')));
      assert.equal(pages, candidates);
      assert.ok(empty >= 1, 'the false positive was a candidate, and no result');
      // Files over maxScanBytes are left out (and counted).
      const small = new ContentSearch(s.store, blobs, index, threads, { maxScanBytes: 100 });
      const p = await small.search('content:COMMONMARK', { after: null, limit: 40 });
      assert.deepEqual(p.matches.map((m) => m.file.sha256), expected((b) => b.length <= 100 && b.includes('COMMONMARK')));
      assert.ok(p.skipped > 0);
    } finally {
      await threads.close();
      index.close();
      blobs.close();
    }
  });
});

describe('content search without the content index', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService({ contentIndex: 'false' });
  });
  after(() => s?.stop());

  it('answers a clear UnsupportedContentQueryError', async () => {
    const r = await api(s.url, s.adminKey, 'GET', `${SEARCH}?query=${encodeURIComponent('content:"virustotal"')}`);
    assert.ok(isVtError(r, 400, 'UnsupportedContentQueryError'), JSON.stringify(r.body));
    assert.match(r.body.error.message, /needs the content index \(the contentIndex setting is off\)/);
    const general = await api(s.url, s.adminKey, 'GET', `${SEARCH}?query=eicar`);
    assert.ok(isVtError(general, 400, 'BadRequestError'));
  });
});

const pgUrl = process.env.TRAWL_TEST_PG_URL;

describe('content search in an API process, the index kept by a worker process (PostgreSQL)', { skip: pgUrl ? false : 'needs TRAWL_TEST_PG_URL' }, () => {
  const pg = postgresBackend(pgUrl ?? '');
  let root: string;
  let apiSvc: Service;
  let worker: Service;
  let key: string;
  const contents = new Map<string, Buffer>();

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'trawl-search-'));
    const shared = { database: await pg.freshUrl(), blobDir: join(root, 'blobs'), logLevel: 'silent', contentIndexInterval: '1', rulesCompileWaitMs: '600000' };
    apiSvc = await startService(loadConfig({ env: {}, flags: { ...shared, role: 'api', port: '0', dataDir: join(root, 'api') } }));
    worker = await startService(loadConfig({ env: {}, flags: { ...shared, role: 'worker', workers: '1', dataDir: join(root, 'worker') } }));
    key = apiSvc.adminKey!;
    const inner = Buffer.from(`zipped: SPLIT-ROLE-MARK ${randomBytes(8).toString('hex')}`);
    const files = [Buffer.from('one SPLIT-ROLE-MARK here'), Buffer.from('two SPLIT-ROLE-MARK there'), Buffer.from('none here'), makeZip({ 'in.txt': inner })];
    contents.set(sha256(inner), inner);
    for (const f of files) {
      const r = await api(apiSvc.url!, key, 'POST', '/api/v3/files', fileForm(f));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitForAnalysis(apiSvc.url!, key, r.body.data.id, 30_000);
      contents.set(sha256(f), f);
    }
  });
  after(async () => {
    await worker?.close();
    await apiSvc?.close();
    await pg.cleanup();
    await rm(root, { recursive: true, force: true });
  });

  it('reads the segments the worker wrote, and finds exactly the matching files', async () => {
    // Every file in a segment, none pending: the search reads segments from the blob store.
    await pollUntil('segments', async () => ({ pending: (await apiSvc.store.countPendingGrams()).files, segments: (await apiSvc.store.listIndexSegments()).length }),
      (v) => v.pending === 0 && v.segments > 0, 20_000);
    const r = await api(apiSvc.url!, key, 'GET', `${SEARCH}?query=${encodeURIComponent('content:SPLIT-ROLE-MARK')}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const want = [...contents].filter(([, c]) => c.includes('SPLIT-ROLE-MARK')).map(([h]) => h).sort();
    assert.equal(want.length, 3);
    assert.deepEqual(r.body.data.map((i: any) => i.id), want);
    const sn = await api(apiSvc.url!, key, 'GET', `${SEARCH}/snippets/${r.body.data[0].context_attributes.snippet}`);
    assert.ok(sn.body.data[0].includes('\x1c53 50 4C 49 54'), JSON.stringify(sn.body)); // "SPLIT" highlighted
  });
});
