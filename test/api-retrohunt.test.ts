// Retrohunt jobs end to end over real HTTP (spec 5): real uploads (a zip among them, so subfiles
// are stored files too), jobs that scan them on the worker pool and finish, abort, delete,
// owner-only access, validation at the door, and the shapes vt-cli reads.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { startService } from '../src/main.js';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, isVtError, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const MARK = 'RETRO_MARK_7f3a';
const RULE = `rule retro_mark { strings: $a = "${MARK}" condition: $a }`;
const base = '/api/v3/intelligence/retrohunt_jobs';

describe('retrohunt jobs', () => {
  let s: TestService;
  let alice: string;
  let bob: string;
  /** Every stored file's content, uploads and zip members alike, by sha256. */
  const contents = new Map<string, Buffer>();
  const members = new Set<string>();

  const upload = async (key: string, content: Buffer, name: string) => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, key, r.body.data.id, 30_000);
    contents.set(sha256(content), content);
  };
  const create = (key: string, attributes: Record<string, unknown>) =>
    api(s.url, key, 'POST', base, { data: { type: 'retrohunt_job', attributes } });
  const get = async (key: string, id: string) => {
    const r = await api(s.url, key, 'GET', `${base}/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data;
  };
  const until = (key: string, id: string, statuses: string[], ms = 15_000) =>
    pollUntil(`job ${id}`, () => get(key, id), (j) => statuses.includes(j.attributes.status), ms, 25);

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
    await upload(alice, Buffer.from(`first ${MARK} file`), 'a.txt');
    await upload(alice, Buffer.from(`second file with ${MARK}`), 'b.txt');
    await upload(bob, Buffer.from('nothing to see here'), 'c.txt');
    const inner = { 'docs/inner.txt': `inside the zip: ${MARK}`, 'docs/plain.txt': 'plain member' };
    for (const c of Object.values(inner)) {
      contents.set(sha256(c), Buffer.from(c));
      members.add(sha256(c));
    }
    await upload(alice, makeZip(inner), 'bundle.zip');
  });
  after(() => s?.stop());

  it('scans every stored file and finds exactly the matching ones, subfiles included', async () => {
    const expected = [...contents].filter(([, c]) => c.includes(MARK)).map(([h]) => h).sort();
    assert.equal(expected.length, 3);
    const r = await create(alice, { rules: RULE, corpus: 'main' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const job = r.body.data;
    assert.equal(job.type, 'retrohunt_job');
    assert.match(job.id, /^alice-\d+$/);
    assert.equal(job.attributes.status, 'starting');
    assert.equal(job.attributes.progress, 0);
    const done = await until(alice, job.id, ['finished']);
    const a = done.attributes;
    assert.equal(a.progress, 100);
    assert.equal(a.num_matches, expected.length);
    assert.equal(a.eta_seconds, 0);
    // Every stored file was scanned: the uploads, the zip and its members.
    assert.equal(a.scanned_bytes, [...contents.values()].reduce((n, c) => n + c.length, 0));
    for (const k of ['progress', 'eta_seconds', 'scanned_bytes', 'num_matches', 'creation_date', 'start_date', 'finish_date']) {
      assert.equal(typeof a[k], 'number', k);
    }
    assert.equal(a.rules, RULE);
    assert.equal(a.corpus, 'main');
    assert.ok(!('trawl_abort_reason' in a), 'only an aborted job has an abort reason');
    const m = await api(s.url, alice, 'GET', `${base}/${job.id}/matching_files?limit=2`);
    assert.equal(m.status, 200, JSON.stringify(m.body));
    assert.equal(m.body.data.length, 2);
    const next = await api(s.url, alice, 'GET', m.body.links.next);
    const items = [...m.body.data, ...next.body.data];
    assert.deepEqual(items.map((i: any) => i.id), expected);
    for (const i of items) {
      assert.equal(i.type, 'file');
      assert.equal(i.attributes.sha256, i.id);
      assert.equal(i.context_attributes.rule_name, 'retro_mark');
      assert.match(i.context_attributes.snippet, /52 45 54 52 4f/i); // "RETRO" in the hexdump
      assert.equal(i.context_attributes.match_in_subfile, members.has(i.id));
    }
    assert.ok(items.some((i: any) => i.context_attributes.match_in_subfile));
  });

  it('scans only the files first submitted within time_range', async () => {
    const from = Math.floor(Date.now() / 1000) + 3600;
    const r = await create(alice, { rules: RULE, time_range: { start: from, end: from + 60 } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body.data.attributes.time_range, { start: from, end: from + 60 });
    const done = await until(alice, r.body.data.id, ['finished']);
    assert.equal(done.attributes.num_matches, 0);
    assert.equal(done.attributes.scanned_bytes, 0);
    assert.equal(done.attributes.progress, 100);
    const m = await api(s.url, alice, 'GET', `${base}/${r.body.data.id}/matching_files`);
    assert.deepEqual(m.body.data, []);
  });

  it('aborts a running job', async () => {
    // Slow scans (the entropy of a 4 KB window every 16 bytes of 2 MB files: about 0.2 s each on
    // one thread) keep the job running when it is aborted; only over files of 1 MB and more, so
    // that the speed probe's files (512 KB in all, 250 ms at most) pass on a loaded machine too.
    // A running job sees an abort within a second (its watcher): 30 files outlast that on 2 threads.
    await Promise.all(Array.from({ length: 30 }, (_, i) => upload(bob, Buffer.alloc(2 * 1024 * 1024, i + 1), `big${i}.bin`)));
    const slow = 'import "math"\nrule slow { condition: filesize > 1MB and for all i in (0..filesize \\ 16) : (math.entropy(i * 16, 4096) >= 0) }';
    const started = Date.now();
    const r = await create(bob, { rules: slow });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await until(bob, r.body.data.id, ['running']);
    // vt-cli sends no body with Content-Type: application/json.
    const res = await fetch(`${s.url}${base}/${r.body.data.id}/abort`, { method: 'POST', headers: { 'x-apikey': bob, 'content-type': 'application/json' } });
    assert.equal(res.status, 200, await res.clone().text());
    assert.ok(['aborting', 'aborted'].includes(((await res.json()) as any).data.attributes.status));
    const done = await until(bob, r.body.data.id, ['aborted', 'finished']);
    assert.equal(done.attributes.status, 'aborted');
    assert.ok(done.attributes.progress < 100, `aborted after ${Date.now() - started} ms at ${done.attributes.progress} %`);
    assert.equal(typeof done.attributes.finish_date, 'number');
    // Trawl's own attribute: why it stopped.
    assert.equal(done.attributes.trawl_abort_reason, 'aborted by user');
  });

  it('is owner-only: another user\'s job is not found', async () => {
    const r = await create(alice, { rules: RULE, time_range: { start: 0, end: 1 } });
    const id = r.body.data.id;
    for (const [method, path] of [['GET', `${base}/${id}`], ['DELETE', `${base}/${id}`], ['POST', `${base}/${id}/abort`], ['GET', `${base}/${id}/matching_files`]] as const) {
      const theirs = await api(s.url, bob, method, path);
      const missing = await api(s.url, bob, method, path.replace(id, 'alice-1'));
      assert.ok(isVtError(theirs, 404, 'NotFoundError'), `${method} ${path}: ${JSON.stringify(theirs.body)}`);
      assert.deepEqual(theirs.body.error.message.replace(id, 'X'), missing.body.error.message.replace('alice-1', 'X'));
    }
    assert.ok(!(await api(s.url, bob, 'GET', base)).body.data.some((j: any) => j.id === id));
    assert.ok(isVtError(await api(s.url, bob, 'GET', '/api/v3/users/alice/retrohunt_jobs'), 403, 'ForbiddenError'));
    await until(alice, id, ['finished']);
  });

  it('deletes a job with its matches', async () => {
    const r = await create(alice, { rules: RULE });
    const id = r.body.data.id;
    await until(alice, id, ['finished']);
    assert.equal((await api(s.url, alice, 'DELETE', `${base}/${id}`)).status, 200);
    assert.ok(isVtError(await api(s.url, alice, 'GET', `${base}/${id}`), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, alice, 'GET', `${base}/${id}/matching_files`), 404, 'NotFoundError'));
  });

  it('refuses what it cannot run: bad rules (with the engine\'s message), over 300 rules, an unknown corpus, bad time ranges', async () => {
    const bad = await create(alice, { rules: 'rule broken { condition: no_such_thing }' });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(bad.body.error.message, /Invalid YARA ruleset: .*no_such_thing/s);
    const many = Array.from({ length: 301 }, (_, i) => `rule r${i} { condition: true }`).join('\n');
    const tooMany = await create(alice, { rules: many });
    assert.ok(isVtError(tooMany, 400, 'BadRequestError'), JSON.stringify(tooMany.body));
    assert.match(tooMany.body.error.message, /at most 300 rules/);
    const unknown = await create(alice, { rules: RULE, corpus: 'nsrl' });
    assert.ok(isVtError(unknown, 400, 'BadRequestError'));
    assert.match(unknown.body.error.message, /invalid corpus "nsrl": expected "main" or "goodware"/);
    assert.ok(isVtError(await create(alice, {}), 400, 'BadRequestError'));
    assert.ok(isVtError(await create(alice, { rules: RULE, time_range: { start: 10, end: 5 } }), 400, 'BadRequestError'));
    assert.ok(isVtError(await create(alice, { rules: RULE, time_range: { start: 'yesterday' } }), 400, 'BadRequestError'));
    assert.ok(isVtError(await api(s.url, alice, 'GET', `${base}?filter=status:lost`), 400, 'BadRequestError'));
  });

  it('lists one\'s jobs newest first, filtered by status, with a count', async () => {
    const all = await api(s.url, alice, 'GET', base);
    assert.equal(all.status, 200);
    const dates = all.body.data.map((j: any) => j.attributes.creation_date);
    assert.deepEqual(dates, [...dates].sort((x: number, y: number) => y - x));
    const finished = await api(s.url, alice, 'GET', `${base}?filter=status:finished&limit=1`);
    assert.equal(finished.body.data.length, 1);
    assert.equal(finished.body.meta.count, all.body.data.filter((j: any) => j.attributes.status === 'finished').length);
    assert.ok(finished.body.meta.count >= 2);
    const rest = await api(s.url, alice, 'GET', finished.body.links.next);
    assert.ok(rest.body.data.every((j: any) => j.attributes.status === 'finished'));
    assert.notEqual(rest.body.data[0].id, finished.body.data[0].id);
    const mine = await api(s.url, alice, 'GET', '/api/v3/users/alice/retrohunt_jobs');
    assert.equal(mine.status, 200);
    assert.equal(mine.body.meta.count, all.body.meta.count);
    const descriptors = await api(s.url, alice, 'GET', '/api/v3/users/alice/relationships/retrohunt_jobs');
    assert.deepEqual(descriptors.body.data[0], { type: 'retrohunt_job', id: all.body.data[0].id });
  });
});

describe('retrohunt jobs across a restart', () => {
  it('a job running at shutdown resumes at the next start and finishes with exactly its matches', async () => {
    // Three files a batch: progress is recorded (with its cursor) several times before the restart.
    const first = await startTestService({ retrohuntBatch: '3' });
    let second: Awaited<ReturnType<typeof startService>> | null = null;
    try {
      const carol = await newUser(first, 'carol');
      const files = Array.from({ length: 12 }, (_, i) => Buffer.concat([Buffer.alloc(2 * 1024 * 1024, i + 1), Buffer.from(i % 3 === 0 ? `RESTART_MARK ${i}` : `other ${i}`)]));
      await Promise.all(files.map(async (f, i) => {
        const r = await api(first.url, carol, 'POST', '/api/v3/files', fileForm(f, `f${i}.bin`));
        await waitForAnalysis(first.url, carol, r.body.data.id, 30_000);
      }));
      const expected = files.filter((f) => f.includes('RESTART_MARK')).map((f) => sha256(f)).sort();
      // The loop first, so that every file takes its time (about 0.2 s each on one thread); only
      // over files of 1 MB and more, so that the speed probe's files (512 KB in all) pass quickly
      // even on a loaded machine (the probe refuses a set slower than 250 ms over them).
      const rules = 'import "math"\nrule marked { strings: $a = "RESTART_MARK" condition: filesize > 1MB and for all i in (0..filesize \\ 16) : (math.entropy(i * 16, 4096) >= 0) and $a }';
      const r = await api(first.url, carol, 'POST', base, { data: { type: 'retrohunt_job', attributes: { rules } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const id = r.body.data.id;
      const get = async (url: string) => (await api(url, carol, 'GET', `${base}/${id}`)).body.data.attributes;
      const before = await pollUntil('a batch done', () => get(first.url), (a) => a.scanned_bytes > 0, 15_000, 25);
      assert.equal(before.status, 'running');
      await first.close(); // the data folder stays
      second = await startService(first.config);
      const url = second.url!;
      const resumed = await get(url);
      assert.ok(resumed.scanned_bytes >= before.scanned_bytes, 'progress is kept across the restart');
      const done = await pollUntil('finished', () => get(url), (a) => a.status === 'finished', 30_000, 50);
      assert.equal(done.num_matches, expected.length);
      // Every file counted once: the job went on after its last batch, not from the start.
      assert.equal(done.scanned_bytes, files.reduce((n, f) => n + f.length, 0));
      assert.equal(done.progress, 100);
      const m = await api(url, carol, 'GET', `${base}/${id}/matching_files?limit=40`);
      assert.deepEqual(m.body.data.map((i: any) => i.id), expected);
    } finally {
      await second?.close();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});
