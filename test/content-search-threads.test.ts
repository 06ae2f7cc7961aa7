// Content searches scan on their own thread: while a slow one runs (candidates whose scans take
// the engine's full second each), the API's event loop keeps answering other requests. Checked
// with Node's own event-loop delay histogram over the search (the service runs in this process),
// and with file lookups answered meanwhile. The bound is generous (a busy machine delays a loop
// now and then); scanning on the event loop blocked it for a second per file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { ContentIndex } from '../src/content-index/content-index.js';
import { ContentSearch, contentSearchThreads } from '../src/content-index/content-search.js';
import { blobStoreOf } from '../src/main.js';
import { api, fileForm, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

/** A regex the engine verifies slowly on ABCD...: its scan of each file below runs into the one-second timeout. */
const SLOW_QUERY = 'content:/ABCD[^Q]{0,3000}ZZZZ/';
const FILES = 3;
/** Longest the event loop may stall during the search; a scan on it stalled it ~1,000 ms a file. */
const MAX_STALL_MS = 500;

describe('content search off the event loop', () => {
  let s: TestService;
  const ids: string[] = [];

  before(async () => {
    s = await startTestService();
    for (let i = 0; i < FILES; i++) {
      const content = Buffer.alloc(8 << 20, 'ABCD');
      content.write(`ZZZZTAIL${i}`, content.length - 9);
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content, `slow${i}.bin`));
      assert.equal(r.status, 200, JSON.stringify(r.body));
      await waitForAnalysis(s.url, s.adminKey, r.body.data.id, 60_000);
      ids.push(createHash('sha256').update(content).digest('hex'));
    }
  });
  after(() => s?.stop());

  it('answers file lookups, and keeps its event loop free, while a slow content search scans', async (t) => {
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    let done = false;
    const search = api(s.url, s.adminKey, 'GET', `/api/v3/intelligence/search?query=${encodeURIComponent(SLOW_QUERY)}`).finally(() => (done = true));
    const lookups: number[] = [];
    while (!done) {
      const t = performance.now();
      const r = await api(s.url, s.adminKey, 'GET', `/api/v3/files/${ids[lookups.length % FILES]}`);
      assert.equal(r.status, 200);
      if (!done) lookups.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await search;
    const searchMs = performance.now() - started;
    loop.disable();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // The search was slow (each candidate's scan ran into its timeout: none is a result)...
    assert.deepEqual(r.body.data, []);
    assert.ok(searchMs > 1000, `the search took ${searchMs.toFixed(0)} ms: too fast to show anything`);
    // ...and the event loop never stalled for long meanwhile, answering lookups throughout.
    const stallMs = loop.max / 1e6;
    t.diagnostic(`search ${searchMs.toFixed(0)} ms, event loop stalled ${stallMs.toFixed(0)} ms at most, ${lookups.length} lookups, slowest ${Math.max(...lookups).toFixed(0)} ms`);
    assert.ok(stallMs < MAX_STALL_MS, `the event loop stalled ${stallMs.toFixed(0)} ms during the search`);
    assert.ok(lookups.length >= 5, `${lookups.length} lookups answered in ${searchMs.toFixed(0)} ms`);
    assert.ok(Math.max(...lookups) < MAX_STALL_MS, `slowest lookup ${Math.max(...lookups).toFixed(0)} ms`);
  });

  it('ends a page on the thread where its client left: between two files of a batch', async () => {
    const blobs = blobStoreOf(s.config, 'content-search-threads-test');
    const index = new ContentIndex(s.store, blobs);
    const threads = contentSearchThreads(1, 0);
    try {
      const search = new ContentSearch(s.store, blobs, index, threads, { maxScanBytes: 1 << 30 });
      // All three candidates go to the thread in one batch; the client leaves during the first scan.
      const gone = new AbortController();
      setTimeout(() => gone.abort(), 200);
      const p = await search.search(SLOW_QUERY, { after: null, limit: 10 }, gone.signal);
      assert.equal(p.candidates, FILES);
      assert.equal(p.scanned + p.skipped, 1, 'one file examined: the page went no further');
      assert.ok(p.next, 'the page says where to go on');
      // Without a client leaving, the page examines them all.
      const whole = await search.search(SLOW_QUERY, { after: null, limit: 10 });
      assert.equal(whole.scanned + whole.skipped, FILES);
      assert.equal(whole.next, null);
    } finally {
      await threads.close();
      index.close();
      blobs.close();
    }
  });
});
