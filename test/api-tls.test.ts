// HTTPS on the API's port (tlsCert, tlsKey): real `trawl serve` processes with self-signed
// certificates made by openssl, real HTTPS requests trusting them, and SIGHUP reloads.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, Agent } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { serveChild, type ChildService } from './helpers/child-service.js';

/** A self-signed certificate for 127.0.0.1 (its own CA), as PEM files in `dir`. */
function selfSigned(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

interface Answer {
  status: number;
  body: string;
  /** Common name of the certificate the server presented. */
  cn: string;
  /** The connection the request went over. */
  socket: TLSSocket;
}

/** GET `path` over HTTPS, trusting only `ca` (the test's certificates), on `agent`'s connections. */
function get(url: string, path: string, ca: string[], key: string, agent?: Agent): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // Without an agent: a fresh connection with a full handshake (no resumed TLS session, which
    // would bring back the certificate of the session's first handshake).
    const req = request(url + path, { ca, agent: agent ?? new Agent({ maxCachedSessions: 0 }), headers: { 'x-apikey': key } }, (res) => {
      // Read now: once the body ends, a connection that is not kept alive is let go of.
      const socket = res.socket as TLSSocket;
      const cn = String(socket.getPeerCertificate().subject.CN);
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, cn, socket }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('HTTPS on the API port', () => {
  let dir: string;
  let first: { cert: string; key: string };
  let second: { cert: string; key: string };
  /** The files the service is configured with (first's copies, later overwritten). */
  let live: { cert: string; key: string };
  let service: ChildService;
  let cas: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-tls-'));
    first = selfSigned(dir, 'first');
    second = selfSigned(dir, 'second');
    live = { cert: join(dir, 'live.crt'), key: join(dir, 'live.key') };
    copyFileSync(first.cert, live.cert);
    copyFileSync(first.key, live.key);
    cas = [first.cert, second.cert].map((f) => execFileSync('cat', [f], { encoding: 'utf8' }));
    service = await serveChild(join(dir, 'data'), ['--tls-cert', live.cert, '--tls-key', live.key, '--headers-timeout', '1']);
  });

  after(async () => {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over HTTPS with the configured certificate, and links say https', async () => {
    assert.match(service.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await get(service.url, '/api/v3/files/upload_url', cas, service.key!);
    assert.equal(res.status, 200);
    assert.equal(res.cn, 'first');
    // The origin of links comes from the request: this one came over TLS.
    assert.match(JSON.parse(res.body).data, /^https:\/\/127\.0\.0\.1:\d+\/api\/v3\/files\/upload\//);
  });

  it('refuses a client that does not trust the certificate (it is really TLS)', async () => {
    await assert.rejects(get(service.url, '/api/v3/health', [], service.key!), /self-signed|self signed|unable to verify/);
  });

  it('keeps the HTTP timeouts over TLS: slow headers are cut off after headersTimeout', async () => {
    const { port } = new URL(service.url);
    const started = Date.now();
    const socket = connect({ host: '127.0.0.1', port: Number(port), ca: cas });
    await new Promise((r, j) => socket.once('secureConnect', r).once('error', j));
    socket.write('GET /api/v3/health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const drip = setInterval(() => socket.writable && socket.write('a'), 200);
    let text = '';
    socket.on('data', (c) => (text += c));
    await new Promise((r) => socket.once('close', r));
    clearInterval(drip);
    assert.ok(Date.now() - started < 4000, `closed after ${Date.now() - started} ms`);
    if (text) assert.match(text, /^HTTP\/1\.1 400 /);
  });

  it('takes a renewed certificate on SIGHUP, keeping open connections', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await get(service.url, '/api/v3/users/admin', cas, service.key!, agent);
      assert.equal(before.cn, 'first');
      copyFileSync(second.cert, live.cert);
      copyFileSync(second.key, live.key);
      service.child.kill('SIGHUP');
      // New handshakes get the new certificate once the process has handled the signal.
      let fresh = await get(service.url, '/api/v3/health', cas, service.key!);
      for (let i = 0; i < 50 && fresh.cn !== 'second'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        fresh = await get(service.url, '/api/v3/health', cas, service.key!);
      }
      assert.equal(fresh.cn, 'second');
      assert.equal(fresh.status, 200);
      // The connection opened before the reload is still open and still answers.
      const again = await get(service.url, '/api/v3/users/admin', cas, service.key!, agent);
      assert.equal(again.socket, before.socket, 'the keep-alive connection was reused');
      assert.equal(again.status, 200);
      assert.equal(again.cn, 'first');
    } finally {
      agent.destroy();
    }
  });

  it('keeps the certificate in use when a reload finds unusable files', async () => {
    const current = (await get(service.url, '/api/v3/health', cas, service.key!)).cn;
    // A renewal copied half-way: the key no longer matches the certificate.
    copyFileSync(first.key, live.key);
    service.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    writeFileSync(live.cert, 'not a certificate');
    service.child.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 500));
    const res = await get(service.url, '/api/v3/health', cas, service.key!);
    assert.equal(res.status, 200);
    assert.equal(res.cn, current);
    assert.equal(service.child.exitCode, null, 'the service is still running');
  });

  it('refuses to start with a missing or unusable file, saying which', async () => {
    await assert.rejects(
      serveChild(join(dir, 'data2'), ['--tls-cert', join(dir, 'missing.crt'), '--tls-key', first.key]),
      /exited with 2: trawl: tlsCert \S*missing\.crt: cannot read it: ENOENT/,
    );
    await assert.rejects(
      serveChild(join(dir, 'data3'), ['--tls-cert', first.cert, '--tls-key', second.key]),
      /exited with 2: trawl: tlsCert \S+ and tlsKey \S+ cannot be used: .*key values mismatch/,
    );
    await assert.rejects(serveChild(join(dir, 'data4'), ['--tls-cert', first.cert]), /"tlsCert" and "tlsKey" go together/);
  });
});
