// An open live feed (GET /api/v3/ioc_stream as server-sent events) ends within about a second,
// with an `error` event carrying the VirusTotal error, once its user may no longer follow it: the
// user disabled or deleted, their key rotated, or a followed ruleset no longer shared with them.
// A quiet feed outlives the idle timeout through its heartbeats.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, newUser, startTestService, type TestService } from './helpers/service.js';

const STREAM = '/api/v3/ioc_stream';

/** Follows the feed; resolves with the `error` event's JSON (or null) and when the feed ended. */
async function follow(s: TestService, key: string, filter = ''): Promise<{ ended: Promise<{ error: any; at: number }>; cancel: () => void }> {
  const ac = new AbortController();
  const res = await fetch(`${s.url}${STREAM}${filter ? `?filter=${encodeURIComponent(filter)}` : ''}`, { headers: { 'x-apikey': key, accept: 'text/event-stream' }, signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const ended = (async () => {
    const dec = new TextDecoder();
    let buf = '';
    let error: any = null;
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return { error, at: Date.now() };
      buf += dec.decode(value, { stream: true });
      const m = /event: error\ndata: (.*)\n\n/.exec(buf);
      if (m) error = JSON.parse(m[1]!);
    }
  })();
  return { ended, cancel: () => ac.abort() };
}

describe('live feeds end when their follower may no longer follow', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService({ idleTimeout: '2' });
  });
  after(async () => s.stop());

  const expectEnd = async (f: Awaited<ReturnType<typeof follow>>, since: number, code: string) => {
    const { error, at } = await f.ended;
    assert.equal(error?.error?.code, code, JSON.stringify(error));
    assert.ok(at - since < 2500, `ended ${at - since} ms after the change`);
  };

  it('a disabled user', async () => {
    const key = await newUser(s, 'dora');
    const f = await follow(s, key);
    const t = Date.now();
    assert.equal((await api(s.url, s.adminKey, 'PATCH', '/api/v3/users/dora', { data: { type: 'user', attributes: { status: 'disabled' } } })).status, 200);
    await expectEnd(f, t, 'UserNotActiveError');
  });

  it('a deleted user, and a rotated key', async () => {
    const eve = await newUser(s, 'eve');
    const fay = await newUser(s, 'fay');
    const [fe, ff] = [await follow(s, eve), await follow(s, fay)];
    const t = Date.now();
    assert.equal((await api(s.url, s.adminKey, 'DELETE', '/api/v3/users/eve')).status, 200);
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/users/fay/apikey')).status, 200);
    await expectEnd(fe, t, 'WrongCredentialsError');
    await expectEnd(ff, t, 'WrongCredentialsError');
  });

  it('a followed ruleset no longer shared', async () => {
    const gil = await newUser(s, 'gil');
    const hal = await newUser(s, 'hal');
    const created = await api(s.url, gil, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'gils', rules: 'rule g { strings: $a = "GIL" condition: $a }' } } });
    const id = created.body.data.id as string;
    const rel = `/api/v3/intelligence/hunting_rulesets/${id}/relationships/editors`;
    assert.equal((await api(s.url, gil, 'POST', rel, { data: [{ type: 'user', id: 'hal' }] })).status, 200);
    const f = await follow(s, hal, `source_type:hunting_ruleset source_id:${id}`);
    const other = await follow(s, hal);
    const t = Date.now();
    assert.equal((await api(s.url, gil, 'DELETE', `${rel}/hal`)).status, 200);
    await expectEnd(f, t, 'ForbiddenError');
    // A feed that followed no ruleset in particular goes on, its scope narrowed.
    const r = await Promise.race([other.ended.then(() => 'ended'), new Promise((res) => setTimeout(() => res('open'), 1500))]);
    assert.equal(r, 'open');
    other.cancel();
  });

  it('a quiet feed outlives the idle timeout (2 s here) through heartbeats', async () => {
    const key = await newUser(s, 'ivy');
    const f = await follow(s, key);
    const r = await Promise.race([f.ended.then(() => 'ended'), new Promise((res) => setTimeout(() => res('open'), 5000))]);
    assert.equal(r, 'open');
    f.cancel();
  });
});
