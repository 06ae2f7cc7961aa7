// ZIP files end to end over real HTTP (spec 6.5, vt-cli `vt download --zip`): real uploads, a ZIP
// built by the `zip-file` job with 7-Zip, downloaded and opened with Info-ZIP's unzip and
// Python's zipfile (the tools users open them with), statuses, owner-only access.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, isVtError, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const digest = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
const base = '/api/v3/intelligence/zip_files';

describe('intelligence/zip_files', () => {
  let s: TestService;
  let alice: string;
  let bob: string;
  let tmp: string;
  const binary = randomBytes(200_000);
  const text = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*');
  const member = Buffer.from('a file that exists only inside an uploaded zip');

  const upload = async (key: string, content: Buffer, name: string) => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, key, r.body.data.id, 30_000);
  };
  const get = async (key: string, id: string) => {
    const r = await api(s.url, key, 'GET', `${base}/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body.data;
  };
  const ended = (key: string, id: string) =>
    pollUntil(`zip file ${id}`, () => get(key, id), (z) => !['starting', 'creating'].includes(z.attributes.status), 30_000, 50);
  /** Downloads a finished ZIP file into a file of its own. */
  const download = async (key: string, id: string): Promise<string> => {
    const res = await fetch(`${s.url}${base}/${id}/download`, { headers: { 'x-apikey': key } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/zip');
    const path = join(tmp, `${id}.zip`);
    writeFileSync(path, Buffer.from(await res.arrayBuffer()));
    return path;
  };

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'trawl-zip-files-'));
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
    await upload(alice, binary, 'random.bin');
    await upload(bob, text, 'eicar.com');
    await upload(alice, makeZip({ 'inner/member.txt': member }), 'bundle.zip');
  });
  after(async () => {
    await s?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('packs stored files named by any hash into a ZIP that unzip opens with the password', async () => {
    const missing = 'ab'.repeat(32);
    const r = await api(s.url, alice, 'POST', base, {
      data: {
        // SHA-256, MD5 (uppercase), SHA-1 of a subfile, the same file again by another hash, one not stored.
        hashes: [digest('sha256', binary), digest('md5', text).toUpperCase(), digest('sha1', member), digest('md5', binary), missing],
        password: 'infected',
      },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const created = r.body.data;
    assert.equal(created.type, 'zip_file');
    assert.match(created.id, /^\d+$/);
    assert.equal(created.attributes.status, 'starting');
    assert.deepEqual([created.attributes.progress, created.attributes.files_ok, created.attributes.files_error], [0, 0, 0]);
    assert.equal(created.links.self, `${s.url}${base}/${created.id}`);

    const done = await ended(alice, created.id);
    assert.equal(done.attributes.status, 'finished', JSON.stringify(done));
    assert.equal(done.attributes.progress, 100);
    assert.equal(done.attributes.files_ok, 3);
    assert.equal(done.attributes.files_error, 1);
    assert.equal(done.attributes.trawl_encrypted, true);

    const url = await api(s.url, alice, 'GET', `${base}/${created.id}/download_url`);
    assert.equal(url.status, 200);
    assert.equal(url.body.data, `${s.url}${base}/${created.id}/download`);
    const zip = await download(alice, created.id);
    assert.equal(readFileSync(zip).length, done.attributes.trawl_size);

    // Encrypted: without the password unzip refuses every entry; with it, out come the stored bytes.
    const out = join(tmp, 'with-password');
    const refused = spawnSync('unzip', ['-P', 'wrong', '-o', '-d', join(tmp, 'wrong'), zip], { encoding: 'utf8' });
    assert.notEqual(refused.status, 0, 'a wrong password opens nothing');
    execFileSync('unzip', ['-P', 'infected', '-d', out, zip], { stdio: 'ignore' });
    const entries = readdirSync(out).sort();
    const expected = new Map([binary, text, member].map((b) => [digest('sha256', b), b]));
    assert.deepEqual(entries, [...expected.keys()].sort());
    for (const [name, bytes] of expected) assert.ok(readFileSync(join(out, name)).equals(bytes), `${name} holds the stored bytes`);

    // ZipCrypto, which Python's zipfile (it has no AES) decrypts too.
    const py = execFileSync('python3', ['-c', [
      'import sys, zipfile, hashlib',
      'z = zipfile.ZipFile(sys.argv[1])',
      'print(" ".join(sorted(i.filename + ":" + str(i.flag_bits & 1) + ":" + hashlib.sha256(z.read(i, pwd=b"infected")).hexdigest() for i in z.infolist())))',
    ].join('\n'), zip], { encoding: 'utf8' }).trim();
    assert.equal(py, [...expected.keys()].sort().map((h) => `${h}:1:${h}`).join(' '));
  });

  it('makes a plain ZIP without a password, and takes a body sent without a content type (vt-py)', async () => {
    const res = await fetch(s.url + base, { method: 'POST', headers: { 'x-apikey': bob }, body: JSON.stringify({ data: { hashes: [digest('sha256', text)] } }) });
    assert.equal(res.status, 200);
    const { data } = (await res.json()) as { data: { id: string } };
    const done = await ended(bob, data.id);
    assert.equal(done.attributes.status, 'finished');
    assert.equal(done.attributes.trawl_encrypted, false);
    const out = join(tmp, 'plain');
    execFileSync('unzip', ['-d', out, await download(bob, data.id)], { stdio: 'ignore' });
    assert.ok(readFileSync(join(out, digest('sha256', text))).equals(text));
  });

  it('ends error-creating when none of the files is stored, with nothing to download', async () => {
    const r = await api(s.url, alice, 'POST', base, { data: { hashes: ['0'.repeat(64), '1'.repeat(32)], password: 'x' } });
    assert.equal(r.status, 200);
    const done = await ended(alice, r.body.data.id);
    assert.equal(done.attributes.status, 'error-creating');
    assert.deepEqual([done.attributes.files_ok, done.attributes.files_error], [0, 2]);
    assert.match(done.attributes.trawl_error, /none of the files/);
    assert.ok(isVtError(await api(s.url, alice, 'GET', `${base}/${r.body.data.id}/download`), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, alice, 'GET', `${base}/${r.body.data.id}/download_url`), 404, 'NotFoundError'));
  });

  it("hides a user's ZIP files from everyone else", async () => {
    const r = await api(s.url, alice, 'POST', base, { data: { hashes: [digest('sha256', binary)], password: 'secret' } });
    const id = r.body.data.id;
    await ended(alice, id);
    for (const path of ['', '/download_url', '/download']) {
      const other = await api(s.url, bob, 'GET', `${base}/${id}${path}`);
      assert.ok(isVtError(other, 404, 'NotFoundError'), `${path}: ${other.status} ${JSON.stringify(other.body)}`);
    }
    // Not even the admin sees it: ZIP files are their owner's alone.
    assert.ok(isVtError(await api(s.url, s.adminKey, 'GET', `${base}/${id}`), 404, 'NotFoundError'));
    assert.ok(isVtError(await api(s.url, alice, 'GET', `${base}/123`), 404, 'NotFoundError'));
  });

  it('refuses bad requests at the door', async () => {
    const bad = async (data: unknown) => {
      const r = await api(s.url, alice, 'POST', base, { data });
      assert.ok(isVtError(r, 400, 'BadRequestError'), `${JSON.stringify(data)}: ${r.status} ${JSON.stringify(r.body)}`);
    };
    await bad(undefined);
    await bad({ hashes: [] });
    await bad({ hashes: 'abc' });
    await bad({ hashes: ['not-a-hash'] });
    await bad({ hashes: [digest('sha256', binary)], password: 42 });
    await bad({ hashes: Array.from({ length: 10_001 }, (_, i) => digest('md5', Buffer.from(String(i)))) });
  });
});
