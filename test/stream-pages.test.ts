// IoC Stream pages read on their own thread (ThreadedStreamPages) against the same pages read in
// the caller's (LocalStreamPages), on one real service's SQLite database: the same text for every
// request, the same errors, and a thread that dies is replaced without hanging anyone.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { LocalStreamPages, type StreamPageRequest, type StreamPageText } from '../src/stream/stream-pages.js';
import { ThreadedStreamPages } from '../src/stream/threaded-stream-pages.js';
import { TrawlError } from '../src/model/errors.js';
import type { UserRecord } from '../src/store/store.js';
import { api, fileForm, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { STREAM_SERIALIZER_MODULE, streamSerializer } from '../src/api/stream-serializer.js';

const silent = pino({ level: 'silent' });
/** The thread hands the items over as UTF-8 bytes, the caller's thread as text. */
const asText = (p: StreamPageText) => ({ ...p, items: typeof p.items === 'string' ? p.items : Buffer.from(p.items).toString() });

describe('IoC Stream pages on a thread', () => {
  let s: TestService;
  let threaded: ThreadedStreamPages;
  let local: LocalStreamPages;
  let admin: UserRecord;
  let carol: UserRecord;

  before(async () => {
    s = await startTestService();
    await newUser(s, 'carol');
    await api(s.url, s.adminKey, 'POST', '/api/v3/intelligence/hunting_rulesets', {
      data: { type: 'hunting_ruleset', attributes: { name: 'paged', enabled: true, rules: 'rule paged_rule : t1 { strings: $a = "PAGE-MARK" condition: $a }' } },
    });
    for (let i = 0; i < 7; i++) {
      const r = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(Buffer.from(`PAGE-MARK ${i} ${randomBytes(6).toString('hex')}`)));
      await waitForAnalysis(s.url, s.adminKey, r.body.data.id);
    }
    admin = (await s.store.getUserById(1))!;
    carol = (await s.store.getUserByName('carol'))!;
    threaded = await ThreadedStreamPages.start(s.config.databaseUrl, { poolSize: 2 }, STREAM_SERIALIZER_MODULE, silent);
    local = new LocalStreamPages(s.store, streamSerializer);
  });
  after(async () => {
    await threaded.close();
    await s.stop();
  });

  const req = (over: Partial<StreamPageRequest['stream']> = {}, user = admin, descriptorsOnly = false): StreamPageRequest =>
    ({ user, stream: { limit: 3, ...over }, origin: 'http://trawl.test', descriptorsOnly, countCap: 1000, sharingEpoch: 0 });

  it('reads what the caller\'s thread reads, page after page, with every kind of request', async () => {
    let first = await local.read(req());
    assert.equal(first.n, 3);
    assert.equal(first.count, 7);
    const seen: string[] = [];
    for (let page = first; ; ) {
      const items = JSON.parse(`[${asText(page).items}]`);
      assert.equal(items.length, page.n);
      seen.push(...items.map((i: any) => i.context_attributes.notification_id));
      assert.ok(items.every((i: any) => i.attributes.sha256 === i.id && i.context_attributes.hunting_info.rule_name === 'paged_rule'));
      if (!page.next) break;
      page = await threaded.read(req({ after: page.next }));
    }
    assert.equal(new Set(seen).size, 7, 'the thread pages on from the cursor of the caller\'s page');
    const requests = [
      req(), req({ limit: 40 }), req({ order: 'asc' }), req({ filter: 'notification_tag:t1' }), req({ filter: 'notification_tag:nope' }),
      req({ after: first.next! }), req({}, admin, true), req({}, carol), req({ filter: 'date:2000-01-01-' }),
    ];
    for (const r of requests) {
      const fromThread = await threaded.read(r);
      assert.ok(fromThread.items instanceof Uint8Array);
      assert.deepEqual(asText(fromThread), asText(await local.read(r)), JSON.stringify(r.stream));
    }
    first = await threaded.read(req({}, carol));
    assert.deepEqual([first.n, first.count, asText(first).items], [0, 0, ''], 'another user sees none of them');
  });

  it('fails a bad filter with the same TrawlError, and keeps serving', async () => {
    const bad = req({ filter: 'bogus:1' });
    const expected = await local.read(bad).then(() => null, (e: unknown) => e);
    assert.ok(expected instanceof TrawlError && expected.code === 'BadRequestError');
    await assert.rejects(threaded.read(bad), (e: unknown) => e instanceof TrawlError && e.code === expected.code && e.message === expected.message);
    assert.equal((await threaded.read(req())).n, 3);
  });

  it('replaces a thread that dies: its reads fail as TransientError, none hangs, later ones are served', async () => {
    const inFlight = Array.from({ length: 20 }, () => threaded.read(req({ limit: 40 })));
    await (threaded as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    const settled = await Promise.allSettled(inFlight);
    for (const r of settled) {
      if (r.status === 'rejected') assert.ok(r.reason instanceof TrawlError && r.reason.code === 'TransientError', String(r.reason));
      else assert.equal(r.value.n, 7);
    }
    for (let tries = 0; ; tries++) {
      const r: unknown = await threaded.read(req()).then((p) => p, (e: unknown) => e);
      if (!(r instanceof Error)) {
        assert.ok(r && typeof r === 'object' && 'n' in r);
        assert.equal(r.n, 3);
        break;
      }
      assert.ok(r instanceof TrawlError && r.code === 'TransientError' && tries < 100, String(r));
      await new Promise((ok) => setTimeout(ok, 20));
    }
  });

  it('refuses to start on a database it cannot open', async () => {
    await assert.rejects(ThreadedStreamPages.start('postgres://nobody@127.0.0.1:1/none', { poolSize: 1 }, STREAM_SERIALIZER_MODULE, silent), (e: unknown) => e instanceof TrawlError && e.code === 'TransientError');
  });
});
