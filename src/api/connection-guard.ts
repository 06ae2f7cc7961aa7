// What happens to a connection before Fastify sees a request: errors of the HTTP parser (request
// line or headers too large, malformed, too slow) answered in VirusTotal's error shape instead of
// Node's bare text, and a cap on the connections one client address holds open.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { TrawlError, type ErrorCode } from '../model/errors.js';
import { errorStatus } from './error-status.js';

/** A whole HTTP response carrying `{"error":{"code","message"}}`, for writing on a bare socket. */
export function rawError(code: ErrorCode, message: string): string {
  const body = JSON.stringify({ error: { code, message } });
  const status = errorStatus[code];
  return `HTTP/1.1 ${status} ${code}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Fastify's clientErrorHandler: the parser's errors, answered where the socket still can be. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (!socket.writable || err.code === 'ECONNRESET') return void socket.destroy();
  const why =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? 'the request line and headers are too large (at most 16 KB)'
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? 'the request headers did not arrive in time'
        : 'malformed HTTP request';
  socket.end(rawError('BadRequestError', why));
}

/** Answers the connections of an address beyond `max` open ones with 429 and closes them. */
export function capConnectionsPerClient(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const who = socket.remoteAddress ?? '';
    const n = (open.get(who) ?? 0) + 1;
    open.set(who, n);
    socket.once('close', () => {
      const left = (open.get(who) ?? 1) - 1;
      if (left > 0) open.set(who, left);
      else open.delete(who);
    });
    if (n > max) {
      const e = new TrawlError('TooManyRequestsError', `too many open connections from this address (at most ${max})`);
      socket.end(rawError(e.code, e.message));
    }
  });
}
