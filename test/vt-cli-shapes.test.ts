// vt-cli's commands, replayed request by request through a stand-in for vt-go (helpers/vt-go.ts)
// against a real service. Written from vt-cli's source (VirusTotal/vt-cli@8f6f0fe, cmd/*.go):
// each `it` names the commands it replays; docs/clients.md maps every command to its test here.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { newUser, pollUntil, startTestService, type TestService } from './helpers/service.js';
import { VtGoClient } from './helpers/vt-go.js';

const MARK = `VTCLI-${randomBytes(6).toString('hex')}`;
const RULES = `rule vtcli_mark { strings: $a = "${MARK}" condition: $a }`;
const sha256 = (c: string) => createHash('sha256').update(c).digest('hex');

describe('vt-cli commands against Trawl', () => {
  let s: TestService;
  let vt: VtGoClient;
  let rulesetId: string;

  /** `vt scan file <path> --wait`: FileScanner POSTs /files (under 30 MiB), then the poll of scan.go. */
  async function scanFile(content: string, name = 'sample.txt', password?: string): Promise<{ analysisId: string; item: any }> {
    const form = new FormData();
    form.append('file', new Blob([content]), name);
    if (password !== undefined) form.append('password', password);
    const r = await vt.send('POST', vt.url('files'), form);
    assert.equal(r.data.type, 'analysis');
    const analysisId: string = r.data.id;
    await pollUntil('analysis', () => vt.getObject(`analyses/${analysisId}`), (a) => a.attributes.status === 'completed', 20_000, 50);
    return { analysisId, item: await vt.getObject(`analyses/${analysisId}/item`) };
  }

  before(async () => {
    s = await startTestService();
    vt = new VtGoClient(s.url, await newUser(s, 'cliuser'));
  });
  after(async () => s.stop());

  it('vt init, vt meta; then vt file <relationship> and vt file relationships for what init cached', async () => {
    const meta = await vt.send('GET', vt.url('metadata'));
    // vt.Metadata: engines map[string]interface{}, relationships map[string][]RelationshipMeta, privileges []string.
    assert.equal(typeof meta.data.engines, 'object');
    assert.ok(Array.isArray(meta.data.privileges) && meta.data.privileges.every((p: unknown) => typeof p === 'string'));
    const rels = meta.data.relationships as Record<string, { name: string; description: string }[]>;
    for (const list of Object.values(rels)) for (const r of list) assert.deepEqual(Object.keys(r).sort(), ['description', 'name']);

    const content = `${MARK} relationships ${randomBytes(4).toString('hex')}`;
    await scanFile(content);
    // NewRelationshipsCmd: one iterator per cached file relationship, limit 10, no filter.
    for (const { name } of rels.file!) {
      const got = await vt.iterate(`files/${sha256(content)}/${name}`);
      if (name === 'analyses') assert.equal(got.items.length, 1);
    }
  });

  it('vt scan file [--password] --wait, vt analysis, vt file, vt file analyses, vt download', async () => {
    const content = `${MARK} scan ${randomBytes(4).toString('hex')}`;
    const { analysisId, item } = await scanFile(content, 'scan.txt');
    assert.equal(item.type, 'file');
    assert.equal(item.id, sha256(content));
    // An analysis id vt-cli's `analysis` regexp lets through: (f|u)-<sha256>-\d+ or [\d\w=]{20,}.
    assert.match(analysisId, /(f|u)-[0-9a-fA-F]{64}-\d+|[\d\w=]{20,}/);
    const analysis = await vt.getObject(`analyses/${analysisId}`);
    assert.equal(analysis.attributes.status, 'completed');
    // vt file accepts sha256, sha1 and md5.
    for (const h of [sha256(content), createHash('sha1').update(content).digest('hex'), createHash('md5').update(content).digest('hex')]) {
      assert.equal((await vt.getObject(`files/${h}`)).id, sha256(content));
    }
    const analyses = await vt.iterate(`files/${sha256(content)}/analyses`);
    assert.deepEqual(analyses.items.map((a) => a.id), [analysisId]);

    // --password: a form field after the file part (filescan.go); Trawl takes it for any file
    // (docs/api.md), so the scan completes.
    const withPassword = `${MARK} password ${randomBytes(4).toString('hex')}`;
    assert.equal((await scanFile(withPassword, 'p.txt', 'infected')).item.id, sha256(withPassword));

    // vt download: GetData(files/<hash>/download_url), then grab GETs that URL with x-apikey.
    const link = await vt.send('GET', vt.url(`files/${sha256(content)}/download_url`));
    assert.equal(typeof link.data, 'string');
    const bytes = await fetch(link.data, { headers: { 'x-apikey': vt.apiKey } });
    assert.equal(bytes.status, 200);
    assert.equal(await bytes.text(), content);
    assert.equal((await vt.error('GET', vt.url(`files/${sha256('absent')}/download_url`))).code, 'NotFoundError', 'downloader prints "not found"');
  });
  it('vt hunting ruleset add, <id>, list [-f], enable, disable, rename, setlimit, update, notification_emails', async () => {
    // add: PostObject of vt.NewObject("hunting_ruleset") with name and rules set.
    const added = await vt.send('POST', vt.url('intelligence/hunting_rulesets'), { data: { attributes: { name: 'vtcli_rules', rules: RULES }, type: 'hunting_ruleset' } });
    assert.equal(added.data.type, 'hunting_ruleset');
    rulesetId = added.data.id;
    assert.match(rulesetId, /\d+/, "the `ruleset` command's id regexp");
    const got = await vt.getObject(`intelligence/hunting_rulesets/${rulesetId}?relationships=owner,editors`);
    assert.deepEqual(got.relationships.owner.data, { type: 'user', id: 'cliuser' });
    assert.deepEqual(got.relationships.editors.data, []);
    const listed = await vt.iterate('intelligence/hunting_rulesets?relationships=owner,editors', { filter: 'name:vtcli_rules' });
    assert.deepEqual(listed.items.map((r) => r.id), [rulesetId]);

    // patchRuleset: PatchObject of vt.NewObjectWithID("hunting_ruleset", id) with one attribute.
    const patch = (attr: string, value: unknown) =>
      vt.send('PATCH', vt.url(`intelligence/hunting_rulesets/${rulesetId}`), { data: { attributes: { [attr]: value }, id: rulesetId, type: 'hunting_ruleset' } });
    for (const [attr, value] of [
      ['enabled', false], ['enabled', true], ['name', 'vtcli_renamed'], ['limit', 50],
      ['rules', `${RULES}\nrule vtcli_second { condition: false }`], ['notification_emails', ['hunter@example.com']], ['notification_emails', []],
    ] as const) {
      const r = await patch(attr, value);
      assert.deepEqual(r.data.attributes[attr], value, attr);
    }
    assert.equal((await vt.getObject(`intelligence/hunting_rulesets/${rulesetId}`)).attributes.number_of_rules, 2);
  });

  it('vt hunting notification list [-f], <id>, delete <id>, delete --with-tag, delete --all', async () => {
    const files = [];
    for (let i = 0; i < 3; i++) {
      const content = `${MARK} notify ${i} ${randomBytes(4).toString('hex')}`;
      await scanFile(content);
      files.push(sha256(content));
    }
    // list: PrintCollection of ...?relationships=file with the filter added by the iterator.
    const all = await vt.iterate('intelligence/hunting_notifications?relationships=file', { filter: 'tag:vtcli_mark' });
    assert.ok(all.items.length >= 3);
    for (const n of all.items) {
      assert.equal(n.type, 'hunting_notification');
      assert.equal(n.relationships.file.data.type, 'file');
    }
    const one = (await vt.iterate('intelligence/hunting_notifications?relationships=file', { filter: `tag:${files[0]}`, limit: 5 })).items;
    assert.equal(one.length, 1);
    assert.equal(one[0].relationships.file.data.id, files[0]);
    const paged = await vt.iterate('intelligence/hunting_notifications?relationships=file', { filter: 'tag:vtcli_mark', limit: 2 });
    assert.equal(paged.items.length, 2, '-n 2 stops after two');
    const n = await vt.getObject(`intelligence/hunting_notifications/${one[0].id}`);
    assert.equal(n.attributes.rule_name, 'vtcli_mark');

    await vt.send('DELETE', vt.url(`intelligence/hunting_notifications/${one[0].id}`));
    assert.equal((await vt.error('GET', vt.url(`intelligence/hunting_notifications/${one[0].id}`))).code, 'NotFoundError');
    // --with-tag: the tag is formatted into the URL unescaped.
    await vt.send('DELETE', vt.url(`intelligence/hunting_notifications?tag=${files[1]}`));
    assert.deepEqual((await vt.iterate('intelligence/hunting_notifications?relationships=file', { filter: `tag:${files[1]}` })).items, []);
    assert.equal((await vt.iterate('intelligence/hunting_notifications?relationships=file', { filter: `tag:${files[2]}` })).items.length, 1);
    await vt.send('DELETE', vt.url('intelligence/hunting_notifications'));
    assert.deepEqual((await vt.iterate('intelligence/hunting_notifications?relationships=file')).items, []);
  });

  it('vt iocstream list [-f], <id>, delete <id>, delete -f', async () => {
    const contents = [0, 1].map((i) => `${MARK} stream ${i} ${randomBytes(4).toString('hex')}`);
    for (const c of contents) await scanFile(c);
    const listed = await vt.iterate('ioc_stream', { filter: 'origin:hunting tag:vtcli_mark' });
    assert.ok(listed.items.length >= 2);
    const mine = listed.items.find((o) => o.id === sha256(contents[0]!))!;
    const notificationId: string = mine.context_attributes.notification_id;
    assert.match(notificationId, /\d+/, "the `iocstream` command's id regexp");
    const byId = await vt.getObject(`ioc_stream_notifications/${notificationId}`);
    assert.equal(byId.type, 'ioc_stream_notification');
    await vt.send('DELETE', vt.url(`ioc_stream_notifications/${notificationId}`));
    assert.equal((await vt.error('GET', vt.url(`ioc_stream_notifications/${notificationId}`))).code, 'NotFoundError');
    // delete -f: q.Set("filter", ...) then url.Values.Encode.
    const target = vt.url('ioc_stream');
    target.searchParams.set('filter', `entity_id:${sha256(contents[1]!)}`);
    await vt.send('DELETE', target);
    await pollUntil('stream deletion', async () => (await vt.iterate('ioc_stream', { filter: `entity_id:${sha256(contents[1]!)}` })).items.length, (n) => n === 0, 20_000);
    await vt.send('DELETE', vt.url('ioc_stream'));
  });

  it('vt retrohunt start, <id>, list [--human], matches, abort, delete', async () => {
    const unique = `RETRO-${randomBytes(6).toString('hex')}`;
    const content = `${MARK} ${unique}`;
    await scanFile(content);
    const rules = `rule vtcli_retro { strings: $a = "${unique}" condition: $a }`;
    // start: PostObject with rules and corpus always, time_range only with --after/--before.
    const day = Math.floor(Date.now() / 86_400_000) * 86_400;
    const started = await vt.send('POST', vt.url('intelligence/retrohunt_jobs'), {
      data: { attributes: { corpus: 'main', rules, time_range: { start: day - 86_400 } }, type: 'retrohunt_job' },
    });
    const id: string = started.data.id;
    assert.match(id, /\w+-\d+/, "the `retrohunt` command's id regexp");
    const done = await pollUntil('retrohunt', () => vt.getObject(`intelligence/retrohunt_jobs/${id}`), (j) => j.attributes.status === 'finished', 60_000, 200);
    assert.equal(done.attributes.num_matches, 1);
    // --human reads status (MustGetString), progress when queued or running (MustGetFloat64),
    // and integer dates, eta_seconds, scanned_bytes, num_matches, rules.
    const jobs = await vt.iterate('intelligence/retrohunt_jobs', { limit: 100 });
    for (const j of jobs.items) {
      assert.equal(typeof j.attributes.status, 'string');
      if (['queued', 'running'].includes(j.attributes.status)) assert.equal(typeof j.attributes.progress, 'number');
      assert.ok(Number.isInteger(j.attributes.creation_date));
      if (j.attributes.start_date !== undefined) assert.ok(Number.isInteger(j.attributes.start_date), 'GetTime wants an integer');
      if (j.attributes.eta_seconds !== undefined) assert.ok(Number.isInteger(j.attributes.eta_seconds));
      for (const k of ['scanned_bytes', 'num_matches']) assert.ok(Number.isInteger(j.attributes[k]), k);
      assert.equal(typeof j.attributes.rules, 'string');
    }
    const matches = await vt.iterate(`intelligence/retrohunt_jobs/${id}/matching_files`);
    assert.deepEqual(matches.items.map((f) => f.id), [sha256(content)]);

    // abort: Post(url, nil), an empty JSON body; then delete.
    const other = await vt.send('POST', vt.url('intelligence/retrohunt_jobs'), { data: { attributes: { corpus: 'main', rules: RULES }, type: 'retrohunt_job' } });
    await vt.send('POST', vt.url(`intelligence/retrohunt_jobs/${other.data.id}/abort`));
    for (const j of [id, other.data.id]) await vt.send('DELETE', vt.url(`intelligence/retrohunt_jobs/${j}`));
    assert.equal((await vt.error('GET', vt.url(`intelligence/retrohunt_jobs/${id}`))).code, 'NotFoundError');
  });

  it('vt hunting ruleset delete <id>, delete --all (x-confirm-delete: username)', async () => {
    await vt.send('DELETE', vt.url(`intelligence/hunting_rulesets/${rulesetId}`));
    assert.equal((await vt.error('GET', vt.url(`intelligence/hunting_rulesets/${rulesetId}?relationships=owner,editors`))).code, 'NotFoundError');
    await vt.send('POST', vt.url('intelligence/hunting_rulesets'), { data: { attributes: { name: 'vtcli_more', rules: RULES }, type: 'hunting_ruleset' } });
    assert.equal((await vt.error('DELETE', vt.url('intelligence/hunting_rulesets'), { 'x-confirm-delete': 'someone-else' })).code, 'BadRequestError');
    await vt.send('DELETE', vt.url('intelligence/hunting_rulesets'), undefined, { 'x-confirm-delete': 'cliuser' });
    assert.deepEqual((await vt.iterate('intelligence/hunting_rulesets?relationships=owner,editors')).items, []);
  });

  it('docs/clients.md names only tests of this file that exist', () => {
    const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');
    const titles = [...read('../../test/vt-cli-shapes.test.ts').matchAll(/^  it\('(.+?)', /gm)].map((m) => m[1]!);
    const rows = read('../../docs/clients.md').split('\n').filter((l) => l.startsWith('| `vt ')).join('\n');
    const cited = [...rows.matchAll(/shapes: ([^|;]+?)(?: \.\.\.)?\s*(?:[;|]|$)/gm)].map((m) => m[1]!.trim());
    assert.ok(cited.length > 30, `cited: ${cited.length}`);
    for (const c of cited) assert.ok(titles.some((t) => t.startsWith(c.replace(/,$/, ''))), `docs/clients.md cites "${c}"`);
  });

  it('vt user <username>', async () => {
    const u = await vt.getObject('users/cliuser?relationships=groups,api_quota_group,intelligence_quota_group,monitor_quota_group');
    assert.equal(u.type, 'user');
    assert.equal(u.id, 'cliuser');
  });
});
