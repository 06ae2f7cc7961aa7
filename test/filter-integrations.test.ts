// The filters real integrations send, against a real service on SQLite and on PostgreSQL (the
// store resolves a file's MD5 and SHA-1): Cortex XSOAR's VirusTotal V3 Premium integration and
// Livehunt feed, OpenCTI's Livehunt connector and vt-cli, each request shaped as the client
// shapes it (form-encoded like Python's urlencode and Go's url.Values: spaces as `+`).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, isVtError, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { postgresBackend } from './helpers/store-contract.js';

const hash = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
const pgUrl = process.env.TRAWL_TEST_PG_URL;

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`filters integrations send (${backend})`, { skip: backend === 'postgres' && !pgUrl ? 'needs TRAWL_TEST_PG_URL' : false }, () => {
    let s: TestService;
    let alice: string;
    let bob: string;
    const pg = postgresBackend(pgUrl ?? '');
    const marked = Buffer.from(`XSOAR-MARK first ${randomBytes(8).toString('hex')}`);
    const other = Buffer.from(`XSOAR-MARK second ${randomBytes(8).toString('hex')}`);
    const start = Math.floor(Date.now() / 1000) - 60;

    /** GET `path` with `params` encoded as Python's requests and vt-go encode them. */
    const get = (key: string, path: string, params: Record<string, string>) => api(s.url, key, 'GET', `/api/v3/${path}?${new URLSearchParams(params)}`);
    const ids = (r: { body: any }) => (r.body.data as any[]).map((d) => d.id as string);

    before(async () => {
      s = await startTestService(backend === 'postgres' ? { database: await pg.freshUrl() } : {});
      alice = await newUser(s, 'alice');
      bob = await newUser(s, 'bob');
      for (const [name, enabled, rules] of [
        ['Malicious_Docs', true, 'rule xsoar_rule : apt { strings: $a = "XSOAR-MARK" condition: $a }'],
        ['dormant set', false, 'rule sleeper { strings: $a = "NEVER-SEEN" condition: $a }'],
      ] as const) {
        const r = await api(s.url, alice, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name, enabled, rules } } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      for (const f of [marked, other, Buffer.from('nothing to see')]) {
        const r = await api(s.url, alice, 'POST', '/api/v3/files', fileForm(f));
        await waitForAnalysis(s.url, alice, r.body.data.id);
      }
    });
    after(async () => {
      await s.stop();
      if (backend === 'postgres') await pg.cleanup();
    });

    it('XSOAR lists rulesets with a bare name and a Python boolean', async () => {
      const names = async (filter: string) => {
        const r = await get(alice, 'intelligence/hunting_rulesets', { filter, limit: '10' });
        assert.equal(r.status, 200, `${filter}: ${JSON.stringify(r.body)}`);
        return (r.body.data as any[]).map((d) => d.attributes.name as string).sort();
      };
      assert.deepEqual(await names('Malicious_Docs enabled:True '), ['Malicious_Docs']);
      assert.deepEqual(await names('enabled:False '), ['dormant set']);
      assert.deepEqual(await names('Malicious_Docs enabled:False '), []);
      assert.deepEqual(await names('rules:NEV enabled:FALSE '), [], 'rules: matches whole words');
      assert.deepEqual(await names('rules:"NEVER-SEEN" enabled:FALSE '), ['dormant set']);
      assert.deepEqual(await names('name:"dormant set"'), ['dormant set'], 'a quoted name with a space');
      const bad = await get(alice, 'intelligence/hunting_rulesets', { filter: 'enabled:maybe' });
      assert.ok(isVtError(bad, 400, 'BadRequestError') && bad.body.error.message.includes('enabled:maybe'), JSON.stringify(bad.body));
    });

    it('XSOAR lists notifications with a bare tag and a date window', async () => {
      const count = async (filter: string) => {
        const r = await get(alice, 'intelligence/hunting_notifications', { filter, limit: '40' });
        assert.equal(r.status, 200, `${filter}: ${JSON.stringify(r.body)}`);
        return r.body.data.length as number;
      };
      assert.equal(await count('xsoar_rule date:2024-01-01+'), 2);
      assert.equal(await count('xsoar_rule date:2024-01-01T00:00:00+ date:2100-01-01T00:00:00- '), 2);
      assert.equal(await count('malicious_docs date:2100-01-01T00:00:00+ '), 0);
      assert.equal(await count(`tag:${hash('md5', marked)}`), 1, 'an MD5 names the file its sha256 tag names');
    });

    it('the XSOAR Livehunt feed filters files by a quoted tag from its last run', async () => {
      const r = await get(alice, 'intelligence/hunting_notification_files', { filter: `tag:"Malicious_Docs" date:${start}+`, limit: '40' });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(ids(r).sort(), [hash('sha256', marked), hash('sha256', other)].sort());
      assert.equal(r.body.data[0].context_attributes.ruleset_name, 'Malicious_Docs');
      const later = await get(alice, 'intelligence/hunting_notification_files', { filter: `tag:"Malicious_Docs" date:${start + 3600}+`, limit: '40' });
      assert.deepEqual(ids(later), []);
    });

    it('XSOAR finds notification files by a bare MD5, SHA-1 or SHA-256, in any case', async () => {
      const want = hash('sha256', marked);
      for (const h of [hash('md5', marked), hash('sha1', marked), want, hash('sha1', marked).toUpperCase()]) {
        const r = await get(alice, 'intelligence/hunting_notification_files', { filter: h, limit: '1' });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(ids(r), [want], h);
        assert.equal(r.body.meta.count, 1, `${h}: the other file is not counted`);
      }
      const unknown = await get(alice, 'intelligence/hunting_notification_files', { filter: 'd41d8cd98f00b204e9800998ecf8427e' });
      assert.deepEqual(ids(unknown), [], 'the MD5 of no stored file matches nothing');
      const stranger = await get(bob, 'intelligence/hunting_notification_files', { filter: hash('md5', marked) });
      assert.deepEqual(ids(stranger), [], "resolving a hash shows nobody else's notifications");
    });

    it('users/{id}/hunting_notification_files takes quoted tags and hashes of any kind', async () => {
      const files = (filter: string) => get(alice, 'users/alice/hunting_notification_files', { filter, limit: '40' });
      assert.deepEqual(ids(await files('tag:"malicious_docs"')).sort(), [hash('sha256', marked), hash('sha256', other)].sort());
      assert.deepEqual(ids(await files("tag:'xsoar_rule' apt")).length, 2);
      assert.deepEqual(ids(await files(hash('md5', other))), [hash('sha256', other)]);
      assert.deepEqual(ids(await files(`tag:${hash('sha1', other)}`)), [hash('sha256', other)]);
      const bad = await files('colour:red');
      assert.ok(isVtError(bad, 400, 'BadRequestError') && bad.body.error.message.includes('"colour"'), JSON.stringify(bad.body));
    });

    it("OpenCTI's connector and vt-cli read the IoC Stream", async () => {
      const stream = async (params: Record<string, string>) => {
        const r = await get(alice, 'ioc_stream', params);
        assert.equal(r.status, 200, `${JSON.stringify(params)}: ${JSON.stringify(r.body)}`);
        return ids(r);
      };
      // OpenCTI: date from its last run (UNIX seconds), Python's False, a page size.
      const opencti = { descriptors_only: 'False', limit: '10' };
      assert.equal((await stream({ ...opencti, filter: `date:${start}+ source_type:hunting_ruleset` })).length, 2);
      assert.equal((await stream({ ...opencti, filter: `date:${start}+ source_type:hunting_ruleset notification_tag:malicious_docs` })).length, 2);
      assert.equal((await stream({ ...opencti, filter: `date:${start + 3600}+ source_type:hunting_ruleset` })).length, 0);
      // vt-cli's documented examples.
      assert.equal((await stream({ filter: 'origin:hunting tag:xsoar_rule' })).length, 2);
      assert.equal((await stream({ filter: 'origin:hunting tag:Malicious_Docs' })).length, 2);
      for (const h of [hash('md5', marked), hash('sha1', marked).toUpperCase(), hash('sha256', marked)]) {
        assert.deepEqual(await stream({ filter: `entity_type:file entity_id:${h}` }), [hash('sha256', marked)], h);
      }
      assert.deepEqual(await stream({ filter: `entity_id:${hash('md5', marked)} entity_id:${hash('sha256', marked)}` }), [hash('sha256', marked)], 'two names of one file');
      assert.deepEqual(await stream({ filter: `entity_id:${hash('md5', marked)} entity_id:${hash('md5', other)}` }), [], 'two files at once: nothing');
      assert.deepEqual(await stream({ filter: 'entity_id:d41d8cd98f00b204e9800998ecf8427e' }), []);
      const bare = await get(alice, 'ioc_stream', { filter: 'xsoar_rule' });
      assert.ok(isVtError(bare, 400, 'BadRequestError') && bare.body.error.message.includes('xsoar_rule'), 'a bare word is refused where a DELETE takes the same filter');
      const unknown = await get(alice, 'ioc_stream', { filter: 'origin:hunting colour:red' });
      assert.ok(isVtError(unknown, 400, 'BadRequestError') && unknown.body.error.message.includes('"colour"'), JSON.stringify(unknown.body));
    });

    it('retrohunt lists take quoted statuses in any case, and refuse unknown ones by name', async () => {
      for (const filter of ['status:"finished"', 'STATUS:Finished', 'status:finished status:running']) {
        const r = await get(alice, 'intelligence/retrohunt_jobs', { filter });
        assert.equal(r.status, 200, `${filter}: ${JSON.stringify(r.body)}`);
      }
      const bad = await get(alice, 'intelligence/retrohunt_jobs', { filter: 'status:lost' });
      assert.ok(isVtError(bad, 400, 'BadRequestError') && bad.body.error.message.includes('"lost"'), JSON.stringify(bad.body));
    });
  });
}
