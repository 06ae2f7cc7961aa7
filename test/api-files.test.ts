// File intake and File objects over real HTTP, with real multipart bodies, blobs and SQLite.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeMmdb } from './helpers/mmdb.js';
import { api, fileForm, isVtError, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const hashes = (b: Buffer) => ({
  sha256: createHash('sha256').update(b).digest('hex'),
  sha1: createHash('sha1').update(b).digest('hex'),
  md5: createHash('md5').update(b).digest('hex'),
});

/** Sends a raw HTTP request body (for malformed and truncated multipart). */
function rawPost(url: string, key: string, headers: Record<string, string>, chunks: Buffer[], endEarly = false): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'x-apikey': key, ...headers } }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
    });
    req.on('error', (e) => (endEarly ? resolve({ status: 0, body: String(e) }) : reject(e)));
    for (const c of chunks) req.write(c);
    if (endEarly) setTimeout(() => req.destroy(), 100);
    else req.end();
  });
}

describe('file intake', () => {
  let s: TestService;
  let bobKey: string;
  before(async () => {
    s = await startTestService();
    bobKey = (await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'bob' } })).body.data.attributes.apikey;
  });
  after(async () => s.stop());

  it('accepts an upload, analyses it and describes the file by sha256, sha1 and md5', async () => {
    const content = Buffer.from('#!/bin/sh\necho hello from trawl\n');
    const up = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content, 'hello.sh'));
    assert.equal(up.status, 200);
    assert.equal(up.body.data.type, 'analysis');
    const analysis = await waitForAnalysis(s.url, s.adminKey, up.body.data.id);
    assert.equal(analysis.attributes.status, 'completed');
    assert.deepEqual(analysis.attributes.stats.malicious, 0);
    const h = hashes(content);
    const item = await api(s.url, s.adminKey, 'GET', `/api/v3/analyses/${up.body.data.id}/item`);
    assert.equal(item.body.data.id, h.sha256);
    for (const id of [h.sha256, h.sha1, h.md5, h.md5.toUpperCase()]) {
      const r = await api(s.url, s.adminKey, 'GET', `/api/v3/files/${id}`);
      assert.equal(r.status, 200);
      const a = r.body.data.attributes;
      assert.equal(r.body.data.type, 'file');
      assert.equal(r.body.data.links.self, `${s.url}/api/v3/files/${h.sha256}`);
      assert.deepEqual({ sha256: a.sha256, sha1: a.sha1, md5: a.md5 }, h);
      assert.equal(a.size, content.length);
      assert.match(a.magic, /shell script/i);
      assert.equal(a.type_tag, 'shell');
      assert.ok(Array.isArray(a.type_tags));
      assert.deepEqual(a.names, ['hello.sh']);
      assert.equal(a.meaningful_name, 'hello.sh');
      assert.equal(a.times_submitted, 1);
      assert.equal(a.unique_sources, 1);
      for (const d of ['first_submission_date', 'last_submission_date', 'last_analysis_date']) assert.equal(typeof a[d], 'number', d);
      assert.deepEqual(a.last_analysis_results, {});
      assert.equal(a.last_analysis_stats.undetected, 0);
    }
  });

  it('merges the same file from two users into one object with both names', async () => {
    const content = randomBytes(3000);
    const a = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content, 'first.bin'));
    const b = await api(s.url, bobKey, 'POST', '/api/v3/files', fileForm(content, 'second.exe'));
    await waitForAnalysis(s.url, s.adminKey, a.body.data.id);
    await waitForAnalysis(s.url, bobKey, b.body.data.id);
    const f = (await api(s.url, bobKey, 'GET', `/api/v3/files/${hashes(content).sha256}`)).body.data.attributes;
    assert.equal(f.times_submitted, 2);
    assert.equal(f.unique_sources, 2);
    assert.deepEqual([...f.names].sort(), ['first.bin', 'second.exe']);
    const again = await api(s.url, bobKey, 'POST', '/api/v3/files', fileForm(content, 'second.exe'));
    await waitForAnalysis(s.url, bobKey, again.body.data.id);
    const g = (await api(s.url, bobKey, 'GET', `/api/v3/files/${hashes(content).sha256}`)).body.data.attributes;
    assert.equal(g.times_submitted, 3);
    assert.equal(g.unique_sources, 2);
    assert.equal(g.names.length, 2);
  });

  it('streams the bytes back on download', async () => {
    const content = randomBytes(200_000);
    const up = await api(s.url, bobKey, 'POST', '/api/v3/files', fileForm(content));
    await waitForAnalysis(s.url, bobKey, up.body.data.id);
    const res = await fetch(`${s.url}/api/v3/files/${hashes(content).md5}/download`, { headers: { 'x-apikey': bobKey } });
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(content));
    const anon = await fetch(`${s.url}/api/v3/files/${hashes(content).md5}/download`);
    assert.equal(anon.status, 401);
    // One byte range resumes a download; one past the end is refused with the size.
    const url = `${s.url}/api/v3/files/${hashes(content).md5}/download`;
    for (const [range, start, end] of [['bytes=1000-1999', 1000, 1999], ['bytes=199990-', 199_990, 199_999], ['bytes=-10', 199_990, 199_999], ['bytes=150000-999999', 150_000, 199_999]] as const) {
      const part = await fetch(url, { headers: { 'x-apikey': bobKey, range } });
      assert.equal(part.status, 206, range);
      assert.equal(part.headers.get('content-range'), `bytes ${start}-${end}/200000`);
      assert.ok(Buffer.from(await part.arrayBuffer()).equals(content.subarray(start, end + 1)), range);
    }
    const past = await fetch(url, { headers: { 'x-apikey': bobKey, range: 'bytes=200000-' } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), 'bytes */200000');
    const many = await fetch(url, { headers: { 'x-apikey': bobKey, range: 'bytes=0-1,5-6' } });
    assert.equal(many.status, 200, 'a range list gets the whole file');
    assert.equal((await many.arrayBuffer()).byteLength, 200_000);
  });

  it('hashes uploads right on both sides of the size where hashing moves to a digest thread', async () => {
    const MB = 1024 * 1024;
    for (const size of [MB - 1, MB, MB + 1, 2 * MB + 12345, 5 * MB]) {
      const content = randomBytes(size);
      const up = await api(s.url, bobKey, 'POST', '/api/v3/files', fileForm(content, `edge-${size}.bin`));
      assert.equal(up.status, 200, JSON.stringify(up.body));
      const h = hashes(content);
      const a = (await api(s.url, bobKey, 'GET', `/api/v3/files/${h.sha256}`)).body.data.attributes;
      assert.deepEqual({ sha256: a.sha256, sha1: a.sha1, md5: a.md5, size: a.size }, { ...h, size }, `size ${size}`);
    }
  });

  it('gives one-time absolute upload URLs that accept files over 32 MB', async () => {
    const r = await api(s.url, bobKey, 'GET', '/api/v3/files/upload_url');
    assert.equal(r.status, 200);
    assert.ok(r.body.data.startsWith(`${s.url}/api/v3/`));
    const big = Buffer.alloc(40 * 1024 * 1024, 7);
    const up = await api(s.url, bobKey, 'POST', r.body.data, fileForm(big, 'big.bin'));
    assert.equal(up.status, 200, JSON.stringify(up.body));
    await waitForAnalysis(s.url, bobKey, up.body.data.id);
    // Files over 1 MB are hashed on a digest thread: all three hashes must still be right.
    const bigHashes = hashes(big);
    const stored = (await api(s.url, bobKey, 'GET', `/api/v3/files/${bigHashes.md5}`)).body.data.attributes;
    assert.equal(stored.size, big.length);
    assert.deepEqual({ sha256: stored.sha256, sha1: stored.sha1, md5: stored.md5 }, bigHashes);
    const twice = await api(s.url, bobKey, 'POST', r.body.data, fileForm('x'));
    assert.ok(isVtError(twice, 404, 'NotFoundError'), JSON.stringify(twice.body));
    const forged = await api(s.url, bobKey, 'POST', `${s.url}/api/v3/files/upload/forgedtoken123`, fileForm('x'));
    assert.ok(isVtError(forged, 404, 'NotFoundError'));
    const other = (await api(s.url, s.adminKey, 'GET', '/api/v3/files/upload_url')).body.data;
    assert.ok(isVtError(await api(s.url, bobKey, 'POST', other, fileForm('x')), 403, 'ForbiddenError'));
    const mine = await api(s.url, s.adminKey, 'POST', other, fileForm(`the owner's ${Date.now()}`));
    assert.equal(mine.status, 200, 'another user\'s try did not spend the URL');
  });

  it('refuses oversize uploads on /files and leaves nothing stored', async () => {
    const big = randomBytes(33 * 1024 * 1024);
    const r = await api(s.url, bobKey, 'POST', '/api/v3/files', fileForm(big));
    assert.ok(isVtError(r, 400, 'BadRequestError'), JSON.stringify(r.body));
    assert.match(r.body.error.message, /upload_url/);
    assert.ok(isVtError(await api(s.url, bobKey, 'GET', `/api/v3/files/${hashes(big).sha256}`), 404, 'NotFoundError'));
  });

  it('refuses malformed, truncated and incomplete multipart bodies', async () => {
    const url = `${s.url}/api/v3/files`;
    const boundary = 'XyZ123';
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\nContent-Type: application/octet-stream\r\n\r\nhello`);
    const truncated = await rawPost(url, bobKey, { 'content-type': `multipart/form-data; boundary=${boundary}` }, [head]);
    assert.ok(isVtError({ ...truncated, headers: new Headers({ 'content-type': 'application/json' }) }, 400, 'BadRequestError'), JSON.stringify(truncated.body));
    const noFile = new FormData();
    noFile.append('password', 'infected');
    assert.ok(isVtError(await api(s.url, bobKey, 'POST', '/api/v3/files', noFile), 400, 'BadRequestError'));
    const wrongType = await api(s.url, bobKey, 'POST', '/api/v3/files', { data: {} });
    assert.ok(isVtError(wrongType, 400, 'BadRequestError'), JSON.stringify(wrongType.body));
    const noBoundary = await rawPost(url, bobKey, { 'content-type': 'multipart/form-data' }, [Buffer.from('garbage')]);
    assert.equal(noBoundary.status, 400);
    assert.equal(noBoundary.body.error.code, 'BadRequestError');
    // A client that goes away mid-upload leaves the service healthy.
    await rawPost(url, bobKey, { 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': '100000' }, [head], true);
    assert.equal((await api(s.url, bobKey, 'GET', '/api/v3/users/bob')).status, 200);
  });

  it('answers unknown and malformed hashes with NotFoundError', async () => {
    for (const id of ['0'.repeat(64), 'a'.repeat(32), 'nothex', "1' OR '1'='1"]) {
      assert.ok(isVtError(await api(s.url, bobKey, 'GET', `/api/v3/files/${encodeURIComponent(id)}`), 404, 'NotFoundError'), id);
    }
    assert.ok(isVtError(await api(s.url, bobKey, 'GET', '/api/v3/analyses/nope'), 404, 'NotFoundError'));
  });

  it('records a source key per submitter and the country from a trusted header or a MaxMind database', async () => {
    const t = await startTestService({ countryHeader: 'cf-ipcountry' });
    try {
      const content = randomBytes(100);
      const up = await api(t.url, t.adminKey, 'POST', '/api/v3/files', fileForm(content), { 'cf-ipcountry': 'es' });
      const sub = await t.store.getSubmissionByAnalysisId(up.body.data.id);
      assert.equal(sub?.sourceCountry, 'ES');
      assert.match(sub!.sourceKey, /^[0-9a-f]{8}$/);
      const up2 = await api(t.url, t.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(10)), { 'cf-ipcountry': 'not a country' });
      const sub2 = await t.store.getSubmissionByAnalysisId(up2.body.data.id);
      assert.equal(sub2?.sourceCountry, '');
      assert.equal(sub2?.sourceKey, sub!.sourceKey, 'stable per submitter');
    } finally {
      await t.stop();
    }
    const geoDir = mkdtempSync(join(tmpdir(), 'trawl-geo-'));
    const mmdb = join(geoDir, 'country.mmdb');
    writeFileSync(mmdb, writeMmdb([['127.0.0.0/8', { country: { iso_code: 'NL' } }]]));
    const geo = await startTestService({ geoipDatabase: mmdb });
    try {
      const up = await api(geo.url, geo.adminKey, 'POST', '/api/v3/files', fileForm(randomBytes(64)));
      assert.equal((await geo.store.getSubmissionByAnalysisId(up.body.data.id))?.sourceCountry, 'NL', 'looked up in the MaxMind database');
    } finally {
      await geo.stop();
      rmSync(geoDir, { recursive: true, force: true });
    }
    const plain = await s.store.getSubmissionByAnalysisId((await api(s.url, bobKey, 'POST', '/api/v3/files', fileForm('c'), { 'cf-ipcountry': 'ES' })).body.data.id);
    assert.equal(plain?.sourceCountry, '', 'the header is ignored unless configured');
  });
});
