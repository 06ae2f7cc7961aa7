// Hostile archives, made in the test, uploaded over real HTTP: decompression bombs, paths that
// try to leave the output folder, links, nesting 100 deep, truncated and corrupt input. Each is
// unpacked within the limits, in bounded memory and time, and the container's bundle_info.error
// says what happened; the submission itself always completes.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { makeArchive, makeGzipOfZeros, makeOverlappingZip, makeTar, makeZip } from './helpers/archives.js';
import { api, fileForm, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Every file under `dir`, recursively. */
function allFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? allFiles(join(dir, d.name)) : [join(dir, d.name)]));
}

describe('unpacking hostile archives', () => {
  let s: TestService;
  let key: string;

  const upload = async (svc: TestService, content: Buffer, name: string) => {
    const r = await api(svc.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(svc.url, key, r.body.data.id, 120_000);
    const f = await api(svc.url, key, 'GET', `/api/v3/files/${sha256(content)}`);
    assert.equal(f.status, 200);
    return f.body.data;
  };
  const childrenOf = async (svc: TestService, hash: string): Promise<any[]> => {
    const r = await api(svc.url, key, 'GET', `/api/v3/files/${hash}/bundled_files?limit=40`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data;
  };

  before(async () => {
    s = await startTestService();
    key = s.adminKey;
    await newUser(s, 'hunter');
  });
  after(async () => s.stop());

  it('stops a gzip of 10 GB of zeros at the byte limit, in bounded memory, leaving nothing behind', async () => {
    const bomb = makeGzipOfZeros(10);
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
    const started = Date.now();
    const f = await upload(s, bomb, 'zeros.gz').finally(() => clearInterval(sampler));
    const info = f.attributes.bundle_info;
    assert.equal(info.type, 'GZIP');
    assert.match(info.error, /extraction stopped: more than 419430400 bytes extracted/);
    assert.equal(info.num_children, 0, 'the one (incomplete) output is dropped');
    assert.ok(Date.now() - started < 60_000);
    assert.ok(peak - before < 300 * 1024 * 1024, `memory grew by ${Math.round((peak - before) / 2 ** 20)} MB`);
    assert.deepEqual(readdirSync(join(s.dir, 'blobs', 'tmp')).filter((n) => n.startsWith('x-')), [], 'scratch folders are removed');
  });

  it('refuses an overlapping-entry zip bomb, and stops a plain one at the compression-ratio limit', async () => {
    // 2 GB from ~100 KB; 7-Zip sees the entries overlap and reads the shared data once.
    const overlap = await upload(s, makeOverlappingZip(2000, 1024 * 1024), 'overlap.zip');
    assert.equal(overlap.attributes.bundle_info.type, 'ZIP');
    assert.match(overlap.attributes.bundle_info.error, /Headers Error/);
    assert.ok((await childrenOf(s, overlap.id)).length <= 1);

    const zeros = makeZip({ 'zeros.bin': Buffer.alloc(128 * 1024 * 1024) });
    const plain = await upload(s, zeros, 'zeros.zip');
    assert.match(plain.attributes.bundle_info.error, /unpacks to more than 250 times its size/);
    assert.equal(plain.attributes.bundle_info.num_children, 0, 'the incomplete file is dropped');
  });

  it('defuses a nested 42.zip-style bomb: identical copies are unpacked once, and the leaf stops at a limit', async () => {
    // The leaf: 16 identical 16 MB files of zeros, 256 MB from ~256 KB.
    const leafFiles: Record<string, Buffer> = {};
    for (let i = 0; i < 16; i++) leafFiles[`zeros${i}.bin`] = Buffer.alloc(16 * 1024 * 1024);
    let level = makeZip(leafFiles);
    for (let depth = 0; depth < 4; depth++) {
      const copies: Record<string, Buffer> = {};
      for (let i = 0; i < 16; i++) copies[`lib${depth}-${i}.zip`] = level;
      level = makeZip(copies);
    }
    const started = Date.now();
    const f = await upload(s, level, '42.zip');
    assert.ok(Date.now() - started < 60_000);
    // Walk down the one distinct child per level.
    let hash = f.id;
    for (let depth = 0; depth < 4; depth++) {
      const kids = await childrenOf(s, hash);
      assert.equal(kids.length, 1, `level ${depth}: 16 identical copies are one subfile`);
      assert.equal(kids[0].attributes.bundle_info.type, 'ZIP');
      hash = kids[0].id;
    }
    const leaf = (await api(s.url, key, 'GET', `/api/v3/files/${hash}`)).body.data;
    assert.match(leaf.attributes.bundle_info.error, /extraction stopped/);
  });

  it('keeps `../`, absolute paths and links inside the blob store', async () => {
    const passwd = readFileSync('/etc/passwd');
    const tar = makeTar([
      { name: '../../../../escape-by-dots.txt', content: 'dots' },
      { name: '/tmp/escape-absolute.txt', content: 'absolute' },
      { name: 'link-to-passwd', type: 'symlink', link: '/etc/passwd' },
      { name: 'link-up', type: 'symlink', link: '../../../../../../etc/passwd' },
      { name: 'hard-to-passwd', type: 'hardlink', link: '/etc/passwd' },
      { name: 'ok/plain.txt', content: 'plain' },
    ]);
    const f = await upload(s, tar, 'evil.tar');
    assert.equal(f.attributes.bundle_info.type, 'TAR');
    const kids = await childrenOf(s, f.id);
    const hashes = kids.map((k) => k.id);
    assert.ok(hashes.includes(sha256('plain')));
    assert.ok(hashes.includes(sha256('dots')), 'a ../ entry is unpacked inside the output folder');
    assert.ok(hashes.includes(sha256('absolute')), 'an absolute entry is unpacked inside the output folder');
    assert.ok(!hashes.includes(sha256(passwd)), 'links are never followed');
    assert.ok(!existsSync('/tmp/escape-absolute.txt'));
    for (let dir = s.dir, i = 0; i < 5; i++, dir = join(dir, '..')) assert.ok(!existsSync(join(dir, 'escape-by-dots.txt')));
    // Inside the data folder, only blobs by sha256 (and the database) remain.
    const stray = allFiles(s.dir).filter((p) => /escape|passwd|link|plain/.test(p));
    assert.deepEqual(stray, []);
  });

  it('unpacks 15 levels of a 100-deep nesting, flags the 15th, and hunts only what it unpacked', async () => {
    const hunter = await newUser(s, 'deep');
    const rules = 'rule shallow { strings: $a = "SHALLOW-MARK" condition: $a }\nrule deep { strings: $a = "DEEP-MARK" condition: $a }';
    const rs = await api(s.url, hunter, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name: 'depth', enabled: true, rules } } });
    assert.equal(rs.status, 200);
    // Repeated markers compress, so each is visible only once its own level is unpacked.
    let level = await makeArchive('zip', { 'deep.txt': 'DEEP-MARK '.repeat(50) });
    for (let d = 99; d >= 1; d--) {
      const files: Record<string, Buffer | string> = { [`level${d}.zip`]: level };
      if (d === 5) files['shallow.txt'] = 'SHALLOW-MARK '.repeat(50);
      level = await makeArchive('zip', files);
    }
    const f = await upload(s, level, 'deep.zip');
    let hash = f.id;
    for (let depth = 1; depth <= 15; depth++) {
      const kids = (await childrenOf(s, hash)).filter((k) => k.attributes.type_tag === 'zip');
      assert.equal(kids.length, 1, `a zip at depth ${depth}`);
      hash = kids[0].id;
    }
    const last = (await api(s.url, key, 'GET', `/api/v3/files/${hash}`)).body.data.attributes.bundle_info;
    assert.match(last.error, /nested deeper than 15 levels/);
    assert.equal((await childrenOf(s, hash)).length, 0);
    const n = await api(s.url, hunter, 'GET', `/api/v3/intelligence/hunting_notifications?filter=tag:${f.id}`);
    assert.deepEqual(n.body.data.map((x: any) => [x.attributes.rule_name, x.attributes.match_in_subfile]), [['shallow', true]]);
  });

  it('flags truncated and corrupt archives of each kind, keeping what could be read', async () => {
    const payload = randomBytes(200_000);
    const cases: [string, Buffer][] = [];
    for (const format of ['zip', '7z', 'tar', 'xz', 'bzip2', 'gzip'] as const) {
      const whole = format === 'gzip' ? gzipSync(payload) : await makeArchive(format, { 'data.bin': payload, ...(format === 'zip' || format === '7z' || format === 'tar' ? { 'b.txt': 'b' } : {}) });
      cases.push([`${format} truncated`, whole.subarray(0, Math.floor(whole.length / 2))]);
      // tar has no checksum over data: corrupt its first header instead.
      const corrupt = Buffer.from(whole);
      const from = format === 'tar' ? 0 : Math.floor(corrupt.length / 3);
      for (let i = from; i < from + 64; i++) corrupt[i] = corrupt[i]! ^ 0x5a;
      cases.push([`${format} corrupt`, corrupt]);
    }
    for (const [what, bytes] of cases) {
      const f = await upload(s, bytes, what.replace(' ', '.'));
      const info = f.attributes.bundle_info;
      assert.ok(info, `${what}: recognised as a container`);
      assert.equal(typeof info.error, 'string', `${what}: ${JSON.stringify(info)}`);
      assert.ok(info.error.length > 0);
    }
  });

  describe('with tight limits', () => {
    let tight: TestService;
    before(async () => {
      tight = await startTestService({ maxExtractedFiles: '50', extractionTimeout: '1', maxExtractedBytes: String(64 * 2 ** 30), maxCompressionRatio: '1000000' });
    });
    after(async () => tight.stop());

    it('stops at the file-count limit', async () => {
      const files: Record<string, string> = {};
      for (let i = 0; i < 80; i++) files[`f${String(i).padStart(2, '0')}.txt`] = `file ${i}`;
      const r = await api(tight.url, tight.adminKey, 'POST', '/api/v3/files', fileForm(await makeArchive('zip', files), 'many.zip'));
      const item = await waitForAnalysis(tight.url, tight.adminKey, r.body.data.id).then(() => api(tight.url, tight.adminKey, 'GET', `/api/v3/analyses/${r.body.data.id}/item`));
      const info = item.body.data.attributes.bundle_info;
      assert.match(info.error, /more than 50 files/);
      assert.equal(info.num_children, 50);
    });

    it('stops at the time limit', async () => {
      const r = await api(tight.url, tight.adminKey, 'POST', '/api/v3/files', fileForm(makeGzipOfZeros(10), 'slow.gz'));
      const started = Date.now();
      await waitForAnalysis(tight.url, tight.adminKey, r.body.data.id, 30_000);
      assert.ok(Date.now() - started < 15_000);
      const item = await api(tight.url, tight.adminKey, 'GET', `/api/v3/analyses/${r.body.data.id}/item`);
      assert.match(item.body.data.attributes.bundle_info.error, /took longer than 1 s/);
    });
  });
});
