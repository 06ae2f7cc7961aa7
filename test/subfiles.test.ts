// Subfiles end to end over real HTTP: archives uploaded, unpacked recursively by 7-Zip on the
// worker threads, every subfile a File object linked both ways (bundled_files,
// compressed_parents), bundle_info on the containers, and hunting inside with match_in_subfile.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { makeArchive, makeTar } from './helpers/archives.js';
import { api, fileForm, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('subfiles', () => {
  let s: TestService;
  let alice: string;

  const upload = async (content: Buffer, name: string, extra: Record<string, string> = {}) => {
    const r = await api(s.url, alice, 'POST', '/api/v3/files', fileForm(content, name, extra));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, alice, r.body.data.id, 60_000);
    return sha256(content);
  };
  const file = async (hash: string) => {
    const r = await api(s.url, alice, 'GET', `/api/v3/files/${hash}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data;
  };
  const children = async (hash: string, query = '') => {
    const r = await api(s.url, alice, 'GET', `/api/v3/files/${hash}/bundled_files${query}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const ruleset = async (name: string, rules: string) => {
    const r = await api(s.url, alice, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name, enabled: true, rules } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data.id as string;
  };
  const notificationsOf = async (hash: string) => {
    const r = await api(s.url, alice, 'GET', `/api/v3/intelligence/hunting_notifications?limit=40&filter=tag:${hash}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data as any[];
  };

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
  });
  after(async () => s.stop());

  it('unpacks a tar.gz holding a zip, and links every level both ways with bundle_info', async () => {
    const readme = 'read me first\n';
    const tool = randomBytes(3000);
    const zip = await makeArchive('zip', { 'docs/readme.txt': readme, 'bin/tool.exe': tool });
    const tgz = gzipSync(makeTar([{ name: 'pkg/inner.zip', content: zip, mtime: 1_600_000_000 }, { name: 'pkg/notes.md', content: '# notes', mtime: 1_500_000_000 }]));
    const top = await upload(tgz, 'bundle.tar.gz');

    const f = await file(top);
    assert.equal(f.attributes.bundle_info.type, 'GZIP');
    assert.equal(f.attributes.bundle_info.num_children, 1);
    const [tarChild] = (await children(top)).data;
    assert.equal(tarChild.type, 'file');
    assert.deepEqual(tarChild.attributes.names, ['bundle.tar'], 'a gzip without a stored name is named after its container');
    assert.equal(tarChild.attributes.type_tag, 'tar');
    const tarInfo = tarChild.attributes.bundle_info;
    assert.equal(tarInfo.type, 'TAR');
    assert.equal(tarInfo.num_children, 2);
    assert.deepEqual(tarInfo.extensions, { zip: 1, md: 1 });
    assert.equal(tarInfo.uncompressed_size, zip.length + '# notes'.length);
    assert.equal(tarInfo.highest_datetime, '2020-09-13 12:26:40');
    assert.equal(tarInfo.lowest_datetime, '2017-07-14 02:40:00');

    const zipHash = sha256(zip);
    const zipFile = await file(zipHash);
    assert.deepEqual(zipFile.attributes.names, ['inner.zip']);
    assert.equal(zipFile.attributes.times_submitted, 0, 'extracted, never submitted');
    assert.equal(zipFile.attributes.bundle_info.type, 'ZIP');
    assert.equal(zipFile.attributes.bundle_info.num_children, 2);
    const leaves = (await children(zipHash)).data.map((d: any) => d.id).sort();
    assert.deepEqual(leaves, [sha256(readme), sha256(tool)].sort());
    const leaf = await file(sha256(tool));
    assert.equal(leaf.attributes.size, tool.length);
    assert.deepEqual(leaf.attributes.names, ['tool.exe']);

    // The other way round, and the descriptor form.
    const parents = await api(s.url, alice, 'GET', `/api/v3/files/${sha256(tool)}/compressed_parents`);
    assert.deepEqual(parents.body.data.map((d: any) => d.id), [zipHash]);
    const ids = await api(s.url, alice, 'GET', `/api/v3/files/${zipHash}/relationships/bundled_files`);
    assert.deepEqual(ids.body.data.map((d: any) => Object.keys(d).sort()), [['id', 'type'], ['id', 'type']]);
    const parentIds = await api(s.url, alice, 'GET', `/api/v3/files/${tarChild.id}/relationships/compressed_parents`);
    assert.deepEqual(parentIds.body.data, [{ type: 'file', id: top }]);

    // The bytes of a subfile are stored and downloadable like any file.
    const dl = await fetch(`${s.url}/api/v3/files/${sha256(tool)}/download`, { headers: { 'x-apikey': alice } });
    assert.equal(dl.status, 200);
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(tool));
  });

  it('pages bundled_files with cursors and embeds them with relationships=', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 25; i++) files[`f${i}.txt`] = `file number ${i}\n`;
    const top = await upload(await makeArchive('7z', files), 'many.7z');
    const seen: string[] = [];
    let url = `/api/v3/files/${top}/bundled_files?limit=10`;
    for (let pages = 0; url; pages++) {
      assert.ok(pages < 5);
      const r = await api(s.url, alice, 'GET', url);
      assert.equal(r.status, 200);
      seen.push(...r.body.data.map((d: any) => d.id));
      url = r.body.links.next ?? '';
      if (url) assert.equal(r.body.data.length, 10);
    }
    assert.equal(seen.length, 25);
    assert.equal(new Set(seen).size, 25);
    assert.deepEqual([...seen].sort(), Object.values(files).map((c) => sha256(c)).sort());

    const r = await api(s.url, alice, 'GET', `/api/v3/files/${top}?relationships=bundled_files,compressed_parents,contacted_ips`);
    const rel = r.body.data.relationships;
    assert.equal(rel.bundled_files.data.length, 20);
    assert.ok(rel.bundled_files.links.next, 'more than embedded: a link to the rest');
    assert.deepEqual(rel.compressed_parents.data, []);
    assert.deepEqual(rel.contacted_ips.data, [], 'relationships Trawl has no data for are empty, not errors');
    const bad = await api(s.url, alice, 'GET', `/api/v3/files/${top}/bundled_files?cursor=nonsense`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'BadRequestError');
  });

  it('hunts inside: one notification per rule per submission, match_in_subfile, snippet from the subfile', async () => {
    await ruleset('inside', 'rule in_sub { strings: $m = "SUBFILE-MARKER-77" condition: $m }\nrule on_top { strings: $t = "TOP-MARKER-77" condition: $t }');
    // Repeated, so compression pays and codes it: only the unpacked subfiles show the marker
    // (random bytes alone would be stored as they are, marker included).
    const marked = (n: number) => Buffer.concat([randomBytes(40), Buffer.from(`..SUBFILE-MARKER-77.. copy ${n}`.repeat(30)), randomBytes(40)]);
    const inner = await Promise.all([1, 2, 3].map(async (n) => makeArchive('xz', { [`part${n}.bin`]: marked(n) })));
    const top = await upload(await makeArchive('zip', { 'a.xz': inner[0]!, 'b.xz': inner[1]!, 'c.xz': inner[2]!, 'top.txt': 'nothing to see' }), 'parts.zip');
    const list = await notificationsOf(top);
    const byRule = new Map(list.map((n) => [n.attributes.rule_name, n.attributes]));
    assert.equal(list.filter((n) => n.attributes.rule_name === 'in_sub').length, 1, 'several subfiles, one notification');
    const sub = byRule.get('in_sub');
    assert.equal(sub.match_in_subfile, true);
    assert.match(sub.snippet, /\*begin_highlight\*/);
    assert.match(sub.snippet, /53 55 42 46 49 4C 45/i, 'the snippet shows the subfile bytes (SUBFILE in hex)');
    assert.equal(byRule.has('on_top'), false);

    // A match in the submitted file itself is not in a subfile.
    const plain = Buffer.from('just TOP-MARKER-77 in plain sight');
    const direct = await notificationsOf(await upload(plain, 'plain.txt'));
    assert.equal(direct.length, 1);
    assert.equal(direct[0].attributes.match_in_subfile, false);
  });

  it('scans each subfile with its own name and folder in the rules\' variables', async () => {
    await ruleset('member-names', [
      'rule member_named { strings: $m = "NAMED-MEMBER-MARK" condition: $m and filename == "payload.js" and filepath == "res/scripts" and extension == ".js" and new_file and submissions == 0 }',
      'rule resubmitted { strings: $m = "NAMED-MEMBER-MARK" condition: $m and filename == "top.js" and not new_file and submissions == 1 }',
    ].join('\n'));
    // Repeated, so deflate codes it: only the unpacked member shows the marker.
    const script = `var x = "${randomBytes(6).toString('hex')}";\n` + 'log("NAMED-MEMBER-MARK");\n'.repeat(30);
    const zip = await makeArchive('zip', { 'res/scripts/payload.js': script });
    assert.equal(zip.includes('NAMED-MEMBER-MARK'), false);
    const names = (await notificationsOf(await upload(zip, 'bundle.zip'))).map((n) => n.attributes.rule_name);
    assert.deepEqual(names, ['member_named'], 'the member matched under its own name and folder');
    // The same bytes submitted on their own: a file seen before, under its upload name.
    const direct = (await notificationsOf(await upload(Buffer.from(script), 'top.js'))).map((n) => n.attributes.rule_name);
    assert.deepEqual(direct, ['resubmitted']);
  });

  it('opens encrypted archives with the upload password or a common one, and records which', async () => {
    const secret = `secret payload ${randomBytes(8).toString('hex')}`;
    const common = await upload(await makeArchive('zip', { 'mal.txt': secret }, { password: 'infected' }), 'sample.zip');
    const info = (await file(common)).attributes.bundle_info;
    assert.equal(info.password, 'infected');
    assert.equal(info.num_children, 1);
    assert.deepEqual((await children(common)).data.map((d: any) => d.id), [sha256(secret)]);

    const secret2 = `other payload ${randomBytes(8).toString('hex')}`;
    const archive = await makeArchive('7z', { 'x.txt': secret2 }, { password: 'S3cr3t-from-upload', encryptHeaders: true });
    const given = await upload(archive, 'x.7z', { password: 'S3cr3t-from-upload' });
    const info2 = (await file(given)).attributes.bundle_info;
    assert.equal(info2.password, 'S3cr3t-from-upload');
    assert.deepEqual((await children(given)).data.map((d: any) => d.id), [sha256(secret2)]);

    const locked = await upload(await makeArchive('zip', { 'y.txt': 'never seen' }, { password: 'not-a-common-password', zipEncryption: 'AES256' }), 'y.zip');
    const info3 = (await file(locked)).attributes.bundle_info;
    assert.match(info3.error, /none of \d+ passwords/);
    assert.equal(info3.password, undefined);
    assert.equal((await children(locked)).data.length, 0);
  });

  it('a subfile uploaded later becomes a submitted file, and duplicates inside one archive are one child', async () => {
    const dup = `duplicate content ${randomBytes(4).toString('hex')}`;
    const top = await upload(await makeArchive('zip', { 'one.txt': dup, 'dir/two.txt': dup, 'three.txt': 'other' }), 'dups.zip');
    const kids = (await children(top)).data;
    assert.equal(kids.length, 2);
    assert.equal((await file(top)).attributes.bundle_info.num_children, 3, 'bundle_info counts entries; bundled_files lists distinct files');
    const child = await file(sha256(dup));
    assert.deepEqual(child.attributes.names.sort(), ['one.txt', 'two.txt']);
    await upload(Buffer.from(dup), 'direct.txt');
    const again = await file(sha256(dup));
    assert.equal(again.attributes.times_submitted, 1);
    assert.ok(again.attributes.names.includes('direct.txt'));
  });
});
