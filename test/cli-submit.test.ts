// End-to-end tests of `trawl submit` and `trawl file` against a real in-process server, including
// a file above 32 MB so the upload_url path is exercised.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, test } from 'node:test';
import { ApiClient } from '../src/cli/api-client.js';
import { fileCommand } from '../src/cli/file.js';
import { submitCommand } from '../src/cli/submit.js';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/main.js';

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

const MB = 1024 * 1024;
let tmp: string;
let service: Awaited<ReturnType<typeof startService>>;
let url: string;
let apikey: string;

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

function run(paths: string[], extra: { apikey?: string; url?: string; wait?: boolean } = {}) {
  const out = new Capture();
  const err = new Capture();
  const config = { url: extra.url ?? url, apikey: extra.apikey ?? apikey };
  const done = submitCommand(paths, { config, wait: extra.wait ?? false, concurrency: 3, out, err, pollIntervalMs: 100 });
  return done.then((code) => ({ code, out: out.text, err: err.text }));
}

/** A forwarding HTTP proxy in front of the server that records each request's method and path. */
async function recordingProxy(): Promise<{ url: string; requested: string[]; close: () => Promise<void> }> {
  const requested: string[] = [];
  const upstream = new URL(url);
  const server = createHttpServer((req, res) => {
    requested.push(`${req.method} ${req.url}`);
    const fwd = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    req.pipe(fwd);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requested, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** `<sha256>  <analysis id>  <path>` lines, keyed by path. */
function parseLines(out: string): Map<string, { sha256: string; analysisId: string }> {
  const rows = new Map<string, { sha256: string; analysisId: string }>();
  for (const line of out.trim().split('\n')) {
    const m = /^([0-9a-f]{64}) {2}(\S+) {2}(.+)$/.exec(line);
    assert.ok(m, `unexpected output line: ${line}`);
    rows.set(m[3]!, { sha256: m[1]!, analysisId: m[2]! });
  }
  return rows;
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'trawl-cli-'));
  const config = loadConfig({ env: {}, flags: { dataDir: join(tmp, 'data'), port: '0', logLevel: 'silent' } });
  service = await startService(config);
  assert.ok(service.url && service.adminKey, 'the API listens and a fresh data dir yields an admin key');
  url = service.url;
  apikey = service.adminKey;
});

after(async () => {
  await service?.close();
  await rm(tmp, { recursive: true, force: true });
});

test('submit uploads a directory tree, big files through upload_url, and prints sha256 per file', async () => {
  const dir = join(tmp, 'samples');
  await mkdir(join(dir, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(dir, 'a.txt'), randomBytes(1000));
  await writeFile(join(dir, 'sub', 'b.bin'), randomBytes(200 * 1024));
  await writeFile(join(dir, 'sub', 'deeper', 'c.dat'), 'hello trawl ' + randomBytes(8).toString('hex'));
  // Above the 32 MB direct-upload limit: random head for a unique hash, sparse zeros after it.
  const big = await open(join(dir, 'big.bin'), 'w');
  await big.write(randomBytes(MB));
  await big.truncate(33 * MB + 17);
  await big.close();
  await symlink('..', join(dir, 'sub', 'loop'));

  const expected = new Map<string, string>();
  for (const p of ['a.txt', 'big.bin', 'sub/b.bin', 'sub/deeper/c.dat']) expected.set(join(dir, p), await sha256Of(join(dir, p)));

  // Through a recording proxy, to check that the big file took the upload_url route (whose URL
  // names the server itself, so only the three direct uploads cross the proxy).
  const proxy = await recordingProxy();
  const r = await run([dir], { url: proxy.url }).finally(() => proxy.close());
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(proxy.requested.filter((u) => u.includes('upload_url')), ['GET /api/v3/files/upload_url']);
  assert.equal(proxy.requested.filter((u) => u === 'POST /api/v3/files').length, 3);
  const rows = parseLines(r.out);
  assert.deepEqual(new Map([...rows].map(([p, row]) => [p, row.sha256])), expected);
  assert.match(r.err, /4 files, 33\.\d MB submitted in [\d.]+ s \([\d.]+ MB\/s\); 0 failed/);
});

test('submit --wait returns once every analysis is completed, and file shows the object', async () => {
  const dir = join(tmp, 'wait');
  await mkdir(dir);
  for (const name of ['one', 'two']) await writeFile(join(dir, name), randomBytes(4096));

  const r = await run([dir], { wait: true });
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /2 of 2 analyses completed/);
  const rows = parseLines(r.out);
  const client = new ApiClient(url, apikey);
  for (const { analysisId } of rows.values()) {
    const a = await client.get<{ data: { attributes: { status: string } } }>(`/analyses/${analysisId}`);
    assert.equal(a.data.attributes.status, 'completed');
  }

  const sha256 = [...rows.values()][0]!.sha256;
  const out = new Capture();
  const err = new Capture();
  assert.equal(await fileCommand([sha256], { config: { url, apikey }, out, err }), 0, err.text);
  const obj = JSON.parse(out.text) as { type: string; id: string; attributes: { size: number } };
  assert.equal(obj.type, 'file');
  assert.equal(obj.id, sha256);
  assert.equal(obj.attributes.size, 4096);
});

test('a wrong API key fails with the server WrongCredentialsError message', async () => {
  const path = join(tmp, 'wrong-key.txt');
  await writeFile(path, 'x');
  const raw = await fetch(`${url}/api/v3/files/${'0'.repeat(64)}`, { headers: { 'x-apikey': 'not-a-key' } });
  const body = (await raw.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'WrongCredentialsError');

  const r = await run([path], { apikey: 'not-a-key' });
  assert.equal(r.code, 1);
  assert.ok(r.err.includes(`WrongCredentialsError: ${body.error.message}`), r.err);
  assert.equal(r.out, '');
});

test('an unreachable server gives a message naming its URL', async () => {
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const path = join(tmp, 'unreachable.txt');
  await writeFile(path, 'y');
  const r = await run([path], { url: `http://127.0.0.1:${port}` });
  assert.equal(r.code, 1);
  assert.ok(r.err.includes(`cannot reach Trawl at http://127.0.0.1:${port}: ECONNREFUSED`), r.err);
});

test('file exits 1 for an unknown hash', async () => {
  const out = new Capture();
  const err = new Capture();
  assert.equal(await fileCommand(['f'.repeat(64)], { config: { url, apikey }, out, err }), 1);
  assert.match(err.text, /NotFoundError/);
  assert.equal(out.text, '');
});

test('usage errors exit 2', async () => {
  const err = new Capture();
  const base = { wait: false, concurrency: 4, out: new Capture(), err };
  assert.equal(await submitCommand([], { ...base, config: { url: 'http://127.0.0.1:1', apikey: 'k' } }), 2);
  assert.equal(await submitCommand([tmp], { ...base, config: { url: 'http://127.0.0.1:1', apikey: '' } }), 2);
  assert.match(err.text, /pass --apikey or set TRAWL_APIKEY/);
  assert.equal(await submitCommand([tmp], { ...base, concurrency: 0, config: { url: 'http://127.0.0.1:1', apikey: 'k' } }), 2);
});
