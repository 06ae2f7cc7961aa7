// Connections that would tie up the server: headers sent slowly, connections left silent, too many
// from one address; and requests the HTTP parser or the router refuse before any route runs. Each
// is closed in time and answered, where it can be, in VirusTotal's error shape.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { api, startTestService, type TestService } from './helpers/service.js';

/** Opens a raw connection and collects what the server sends until it closes. */
function raw(url: string): { socket: Socket; closed: Promise<{ text: string; ms: number }> } {
  const { hostname, port } = new URL(url);
  const started = Date.now();
  const socket = connect(Number(port), hostname);
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<{ text: string; ms: number }>((resolve) => socket.on('close', () => resolve({ text, ms: Date.now() - started })));
  return { socket, closed };
}

const vtBody = (text: string) => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));

describe('connection limits', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService({ headersTimeout: '1', idleTimeout: '2', maxConnectionsPerClient: '20' });
  });
  after(async () => s.stop());

  it('closes a connection whose headers do not arrive in time, with a VirusTotal error', async () => {
    const c = raw(s.url);
    c.socket.write('GET /api/v3/files HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    const timer = setInterval(() => c.socket.writable && c.socket.write('a'), 200);
    const { text, ms } = await c.closed;
    clearInterval(timer);
    assert.ok(ms < 4000, `closed after ${ms} ms`);
    if (text) {
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.equal(vtBody(text).error.code, 'BadRequestError');
    }
  });

  it('closes a connection that stays silent after its request', async () => {
    const c = raw(s.url);
    c.socket.write('GET /api/v3/files/nothing HTTP/1.1\r\nHost: x\r\nx-apikey: nope\r\n\r\n');
    const { text, ms } = await c.closed;
    assert.match(text, /^HTTP\/1\.1 401 /);
    assert.ok(ms < 8000, `closed after ${ms} ms`);
  });

  it('answers connections beyond the per-address cap with 429 and closes them', async () => {
    const held = Array.from({ length: 20 }, () => raw(s.url));
    await new Promise((r) => setTimeout(r, 200));
    const extra = raw(s.url);
    const { text } = await extra.closed;
    assert.match(text, /^HTTP\/1\.1 429 /);
    assert.equal(vtBody(text).error.code, 'TooManyRequestsError');
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    const after = await api(s.url, s.adminKey, 'GET', '/api/v3/users/admin');
    assert.equal(after.status, 200, 'connections are counted down as they close');
  });

  it('answers headers over 16 KB and path segments over 1,024 characters in VirusTotal\'s shape', async () => {
    const big = await api(s.url, s.adminKey, 'GET', '/api/v3/files/x', undefined, { 'x-filler': 'a'.repeat(20_000) });
    assert.equal(big.status, 400);
    assert.equal(big.body.error.code, 'BadRequestError');
    const long = await api(s.url, s.adminKey, 'GET', `/api/v3/files/${'a'.repeat(2000)}`);
    assert.equal(long.status, 400);
    assert.equal(long.body.error.code, 'BadRequestError');
    assert.match(long.body.error.message, /1,024/);
  });
});
