// Routes real clients call that Trawl lacked (issue 27), over real HTTP against a real service:
// GET /metadata (vt-cli init/meta), a file's analyses and re-analysis, one ruleset's
// hunting_notification_files, and deleting hunting notifications by file hash (OpenCTI). Each is
// owner-only where it touches notifications: another user's are never shown nor deleted. Run on
// SQLite, and on PostgreSQL too when TRAWL_TEST_PG_URL is set.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, isVtError, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const MARK = `CLIENT-ROUTES-${randomBytes(6).toString('hex')}`;
const RULESETS = '/api/v3/intelligence/hunting_rulesets';
const NOTIFICATIONS = '/api/v3/intelligence/hunting_notifications';

const PG = process.env.TRAWL_TEST_PG_URL;

/** A new PostgreSQL database for one run, dropped after it. */
function pgDatabase(admin: string): { url: string; drop(): void } {
  const db = `trawl_client_routes_${process.pid}`;
  execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db}`, '-c', `CREATE DATABASE ${db}`], { stdio: 'ignore' });
  const url = new URL(admin);
  url.pathname = `/${db}`;
  return { url: url.toString(), drop: () => execFileSync('psql', [admin, '-qc', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`], { stdio: 'ignore' }) };
}

for (const backend of ['SQLite', 'PostgreSQL'] as const) describe(`routes real clients call (${backend})`, { skip: backend === 'PostgreSQL' && !PG ? 'set TRAWL_TEST_PG_URL' : false }, () => {
  let s: TestService;
  let pg: { url: string; drop(): void } | undefined;
  const key: Record<string, string> = {};
  const ruleset: Record<string, string> = {};
  const sha256 = (c: string) => createHash('sha256').update(c).digest('hex');
  /** Notifications of `who` about the file `hash` (its sha256 is one of their tags). */
  const notesOf = async (who: string, hash: string) =>
    (await api(s.url, key[who]!, 'GET', `${NOTIFICATIONS}?filter=tag:${hash}&limit=40`)).body.data as { id: string; attributes: { ruleset_id: string } }[];
  const upload = async (who: string, content: string) => {
    const up = await api(s.url, key[who]!, 'POST', '/api/v3/files', fileForm(content));
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await waitForAnalysis(s.url, key[who]!, up.body.data.id);
    return up.body.data.id as string;
  };

  before(async () => {
    pg = backend === 'PostgreSQL' ? pgDatabase(PG!) : undefined;
    s = await startTestService(pg ? { database: pg.url } : {});
    for (const u of ['alice', 'bob', 'ed']) key[u] = await newUser(s, u);
    for (const u of ['alice', 'bob']) {
      const r = await api(s.url, key[u]!, 'POST', RULESETS, {
        data: { type: 'hunting_ruleset', attributes: { name: `${u}_rules`, enabled: true, rules: `rule ${u}_mark { strings: $a = "${MARK}" condition: $a }` } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      ruleset[u] = r.body.data.id;
    }
    const grant = await api(s.url, key.alice!, 'POST', `${RULESETS}/${ruleset.alice}/relationships/editors`, { data: [{ type: 'user', id: 'ed' }] });
    assert.equal(grant.status, 200);
  });
  after(async () => {
    await s.stop();
    pg?.drop();
  });

  it('GET /metadata: the shape vt-go decodes, Trawl and YARA-X versions, and only relationships that answer', async () => {
    const r = await api(s.url, key.alice!, 'GET', '/api/v3/metadata');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const m = r.body.data;
    assert.equal(typeof m.engines, 'object');
    assert.ok(Array.isArray(m.privileges));
    assert.match(m.trawl.version, /^\d+\.\d+\.\d+/);
    assert.match(m.trawl.yara_x_version, /^\d+\.\d+\.\d+$/);
    for (const [type, list] of Object.entries(m.relationships as Record<string, { name: string; description: string }[]>)) {
      assert.ok(list.length > 0, type);
      for (const rel of list) assert.ok(typeof rel.name === 'string' && typeof rel.description === 'string' && rel.description, `${type}.${rel.name}`);
    }
    assert.ok(m.relationships.file.some((x: { name: string }) => x.name === 'analyses'));
    assert.ok(m.relationships.hunting_ruleset.some((x: { name: string }) => x.name === 'hunting_notification_files'));

    // Every listed relationship answers 200 on objects of its type (vt-cli's `vt file
    // relationships` asks for each one it cached).
    const content = `${MARK} meta ${randomBytes(4).toString('hex')}`;
    const analysisId = await upload('alice', content);
    const notification = (await notesOf('alice', sha256(content)))[0]!.id;
    const job = await api(s.url, key.alice!, 'POST', '/api/v3/intelligence/retrohunt_jobs', {
      data: { type: 'retrohunt_job', attributes: { rules: 'rule rh { strings: $a = "nothing-here-at-all" condition: $a }' } },
    });
    const base: Record<string, string> = {
      file: `/api/v3/files/${sha256(content)}`, analysis: `/api/v3/analyses/${analysisId}`, hunting_ruleset: `${RULESETS}/${ruleset.alice}`,
      hunting_notification: `${NOTIFICATIONS}/${notification}`, retrohunt_job: `/api/v3/intelligence/retrohunt_jobs/${job.body.data.id}`, user: '/api/v3/users/alice',
    };
    assert.deepEqual(Object.keys(m.relationships).sort(), Object.keys(base).sort());
    for (const [type, list] of Object.entries(m.relationships as Record<string, { name: string }[]>)) {
      for (const { name } of list) {
        const res = await api(s.url, key.alice!, 'GET', `${base[type]}/${name}`);
        assert.equal(res.status, 200, `${type} ${name}: ${JSON.stringify(res.body).slice(0, 200)}`);
      }
    }
  });

  it("files/{id}/analyses lists a file's analyses newest first, with cursors; analyse queues it again", async () => {
    const content = `${MARK} again ${randomBytes(4).toString('hex')}`;
    const first = await upload('alice', content);
    const before = (await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}`)).body.data.attributes;
    assert.equal((await notesOf('alice', sha256(content))).length, 1);

    const re = await api(s.url, key.bob!, 'POST', `/api/v3/files/${sha256(content)}/analyse`);
    assert.equal(re.status, 200, JSON.stringify(re.body));
    assert.equal(re.body.data.type, 'analysis');
    assert.notEqual(re.body.data.id, first);
    const done = await waitForAnalysis(s.url, key.bob!, re.body.data.id);
    assert.equal(done.attributes.status, 'completed');
    // Hunted again: each ruleset that matches notifies once more; the file's counts stay.
    assert.equal((await notesOf('alice', sha256(content))).length, 2);
    const afterwards = (await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}`)).body.data.attributes;
    assert.equal(afterwards.times_submitted, before.times_submitted);
    assert.equal(afterwards.last_submission_date, before.last_submission_date);

    const all = await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}/analyses`);
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.data.map((a: { id: string }) => a.id), [re.body.data.id, first]);
    for (const a of all.body.data) {
      assert.equal(a.type, 'analysis');
      assert.equal(a.attributes.status, 'completed');
      assert.equal(a.links.self, `${s.url}/api/v3/analyses/${a.id}`);
    }
    assert.equal(all.body.meta?.cursor, undefined);
    // One a page, by cursor (vt-py) and by links.next (vt-go), reaching the same second page.
    const p1 = await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}/analyses?limit=1`);
    assert.deepEqual(p1.body.data.map((a: { id: string }) => a.id), [re.body.data.id]);
    const byCursor = await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}/analyses?limit=1&cursor=${p1.body.meta.cursor}`);
    const byLink = await api(s.url, key.alice!, 'GET', p1.body.links.next);
    assert.deepEqual(byCursor.body.data.map((a: { id: string }) => a.id), [first]);
    assert.deepEqual(byLink.body, byCursor.body);
    const ids = await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content).toUpperCase()}/relationships/analyses`);
    assert.deepEqual(ids.body.data, [{ type: 'analysis', id: re.body.data.id }, { type: 'analysis', id: first }]);
    const embedded = await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}?relationships=analyses`);
    assert.deepEqual(embedded.body.data.relationships.analyses.data, ids.body.data);
  });

  it('answers NotFoundError for unknown files and BadRequestError for a bad cursor', async () => {
    const unknown = sha256(`never uploaded ${randomBytes(4).toString('hex')}`);
    for (const [method, path] of [
      ['GET', `/api/v3/files/${unknown}/analyses`], ['GET', `/api/v3/files/${unknown}/relationships/analyses`],
      ['POST', `/api/v3/files/${unknown}/analyse`], ['POST', '/api/v3/files/not-a-hash/analyse'],
    ] as const) {
      const r = await api(s.url, key.alice!, method, path);
      assert.ok(isVtError(r, 404, 'NotFoundError'), `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    const content = `${MARK} cursor ${randomBytes(4).toString('hex')}`;
    await upload('alice', content);
    assert.ok(isVtError(await api(s.url, key.alice!, 'GET', `/api/v3/files/${sha256(content)}/analyses?cursor=bm90LWEtY3Vyc29y`), 400, 'BadRequestError'));
  });

  it("a ruleset's hunting_notification_files: its own matches only, for its owner and editors", async () => {
    const content = `${MARK} files ${randomBytes(4).toString('hex')}`;
    await upload('bob', content);
    const path = `${RULESETS}/${ruleset.alice}/hunting_notification_files`;
    const mine = await api(s.url, key.alice!, 'GET', `${path}?filter=${sha256(content)}`);
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(mine.body.data.length, 1, 'alice_rules matched once; bob_rules matched the same file but is not this ruleset');
    const item = mine.body.data[0];
    assert.equal(item.type, 'file');
    assert.equal(item.id, sha256(content));
    assert.equal(item.attributes.sha256, sha256(content));
    assert.equal(item.context_attributes.ruleset_id, ruleset.alice);
    assert.equal(item.context_attributes.rule_name, 'alice_mark');
    assert.equal(mine.body.meta.count, 1);
    const every = await api(s.url, key.alice!, 'GET', path);
    assert.ok(every.body.data.every((f: { context_attributes: { ruleset_id: string } }) => f.context_attributes.ruleset_id === ruleset.alice));

    const ids = await api(s.url, key.alice!, 'GET', `${RULESETS}/${ruleset.alice}/relationships/hunting_notification_files?filter=${sha256(content)}`);
    assert.equal(ids.status, 200);
    assert.deepEqual(Object.keys(ids.body.data[0]).sort(), ['context_attributes', 'id', 'type']);
    assert.equal(ids.body.data[0].id, sha256(content));

    const ed = await api(s.url, key.ed!, 'GET', `${path}?filter=${sha256(content)}`);
    assert.equal(ed.status, 200);
    assert.deepEqual(ed.body.data.map((f: { id: string }) => f.id), [sha256(content)]);
    for (const p of [path, `${RULESETS}/${ruleset.alice}/relationships/hunting_notification_files`, `${RULESETS}/999999/hunting_notification_files`, `${RULESETS}/x/hunting_notification_files`]) {
      const r = await api(s.url, key.bob!, 'GET', p);
      assert.ok(isVtError(r, 404, 'NotFoundError'), `${p}: ${r.status} ${JSON.stringify(r.body)}`);
    }
  });

  it("DELETE hunting_notifications/{file hash} deletes the caller's own notifications of that file, nobody else's", async () => {
    const content = `${MARK} delete ${randomBytes(4).toString('hex')}`;
    const hash = sha256(content);
    await upload('alice', content);
    await api(s.url, key.alice!, 'POST', `/api/v3/files/${hash}/analyse`).then((r) => waitForAnalysis(s.url, key.alice!, r.body.data.id));
    assert.equal((await notesOf('alice', hash)).length, 2);
    assert.equal((await notesOf('bob', hash)).length, 2);

    // An editor sees alice's notifications but they are not theirs to delete by hash.
    assert.ok(isVtError(await api(s.url, key.ed!, 'DELETE', `${NOTIFICATIONS}/${hash}`), 404, 'NotFoundError'));
    assert.equal((await notesOf('alice', hash)).length, 2);

    const del = await api(s.url, key.alice!, 'DELETE', `${NOTIFICATIONS}/${hash.toUpperCase()}`);
    assert.equal(del.status, 200, JSON.stringify(del.body));
    assert.deepEqual(await notesOf('alice', hash), []);
    assert.equal((await notesOf('bob', hash)).length, 2, "bob's stay");
    assert.ok(isVtError(await api(s.url, key.alice!, 'DELETE', `${NOTIFICATIONS}/${hash}`), 404, 'NotFoundError'), 'nothing left to delete');

    // By MD5 too; and a numeric id still deletes one notification.
    const md5 = createHash('md5').update(content).digest('hex');
    const [one, two] = await notesOf('bob', hash);
    assert.equal((await api(s.url, key.bob!, 'DELETE', `${NOTIFICATIONS}/${one!.id}`)).status, 200);
    assert.deepEqual((await notesOf('bob', hash)).map((n) => n.id), [two!.id]);
    assert.equal((await api(s.url, key.bob!, 'DELETE', `${NOTIFICATIONS}/${md5}`)).status, 200);
    assert.deepEqual(await notesOf('bob', hash), []);
    assert.ok(isVtError(await api(s.url, key.bob!, 'DELETE', `${NOTIFICATIONS}/${sha256('unknown file')}`), 404, 'NotFoundError'));
  });

  it("OpenCTI's Livehunt connector: pages /ioc_stream and deletes each item by its id (the file's sha256) as it goes", async () => {
    const contents = [0, 1, 2].map((i) => `${MARK} opencti ${i} ${randomBytes(4).toString('hex')}`);
    for (const c of contents) await upload('alice', c);
    const start = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
    const tag = (i: number) => `notification_tag:${sha256(contents[i]!)}`;
    // The connector's filter and params, one item a page, deleting mid-way through the pages.
    const seen: string[] = [];
    let next: string | undefined = `${s.url}/api/v3/ioc_stream?${new URLSearchParams({ descriptors_only: 'False', filter: `date:${start}+ source_type:hunting_ruleset`, limit: '1' })}`;
    while (next) {
      const page = await api(s.url, key.alice!, 'GET', next);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      for (const item of page.body.data) {
        seen.push(item.id);
        await api(s.url, key.alice!, 'DELETE', `${NOTIFICATIONS}/${item.id}`);
      }
      next = page.body.links.next;
    }
    for (const c of contents) assert.ok(seen.includes(sha256(c)), 'every file was listed once its turn came');
    for (const i of [0, 1, 2]) {
      const left = await api(s.url, key.alice!, 'GET', `/api/v3/ioc_stream?filter=${encodeURIComponent(tag(i))}`);
      assert.deepEqual(left.body.data, [], `alice's notifications of file ${i} are gone`);
      const bobs = await api(s.url, key.bob!, 'GET', `/api/v3/ioc_stream?filter=${encodeURIComponent(tag(i))}`);
      assert.equal(bobs.body.data.length, 1, `bob's notification of file ${i} stays`);
    }
  });
});
