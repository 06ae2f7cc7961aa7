// HTTP client the CLI uses to talk to a Trawl server over its VirusTotal-compatible API v3.
// Turns error envelopes into ApiError and network failures into messages that name the server.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { trawlVersion } from '../version.js';

const MB = 1024 * 1024;
/** Files up to this size go straight to POST /files; larger ones through an upload URL (spec 6.3). */
export const directUploadLimit = 32 * MB;

/** An error the server reported as {"error":{"code","message"}} (or a non-2xx without one). */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = code;
  }
}

/** The server could not be reached (`unreachable`) or dropped the connection mid-request. */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly unreachable: boolean,
  ) {
    super(message);
  }
}

/** A file changed size between stat and upload, so the declared content-length would be wrong. */
export class FileChangedError extends Error {}

export type Query = Record<string, string | number | boolean | undefined>;

export interface UploadResult {
  analysisId: string;
  sha256: string;
  size: number;
}

interface Envelope {
  data?: unknown;
  meta?: { cursor?: string };
  error?: { code?: string; message?: string };
}

const userAgent = `trawl-cli/${trawlVersion()}`;

/** Files up to this size are read whole and sent in one write; larger ones are streamed. */
const wholeFileLimit = MB;
/** A request, or a response body, that makes no progress for this long fails (undici's default). */
const idleTimeoutMs = 300_000;

type Body = Buffer | AsyncIterable<Buffer>;

/**
 * A multipart/form-data body with a single `file` part with an exact length, so the server can
 * refuse an oversized upload before reading it. Small files are read whole (one write, no
 * stream); larger ones are streamed from disk, so no large file is ever held in memory.
 */
async function multipartBody(path: string, name: string, size: number, onChunk: (chunk: Buffer) => void): Promise<{ body: Body; length: number; contentType: string }> {
  const boundary = `----trawl${randomBytes(12).toString('hex')}`;
  const filename = name.replace(/[\r\n]/g, ' ').replace(/"/g, '%22');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const length = head.length + size + tail.length;
  const contentType = `multipart/form-data; boundary=${boundary}`;
  const changed = () => new FileChangedError(`${path} changed size while being uploaded`);
  if (size <= wholeFileLimit) {
    const data = readSmallFile(path, size);
    if (!data) throw changed();
    onChunk(data);
    return { body: Buffer.concat([head, data, tail]), length, contentType };
  }
  async function* stream(): AsyncGenerator<Buffer> {
    yield head;
    let sent = 0;
    for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: MB })) {
      sent += (chunk as Buffer).length;
      onChunk(chunk as Buffer);
      yield chunk as Buffer;
    }
    if (sent !== size) throw changed();
    yield tail;
  }
  return { body: stream(), length, contentType };
}

/**
 * A small file's bytes, read synchronously: from the page cache that takes microseconds, less than
 * the thread-pool round trips of an asynchronous open, fstat, read and close. Null when the file
 * no longer has `size` bytes.
 */
function readSmallFile(path: string, size: number): Buffer | null {
  const fd = openSync(path, 'r');
  try {
    if (fstatSync(fd).size !== size) return null;
    const data = Buffer.allocUnsafe(size);
    let got = 0;
    for (let n; got < size && (n = readSync(fd, data, got, size - got, got)) > 0; ) got += n;
    return got === size ? data : null;
  } finally {
    closeSync(fd);
  }
}

/** Writes `body` to `req` with backpressure, then ends it; a failing body destroys the request. */
async function writeBody(req: ReturnType<typeof httpRequest>, body: Body | undefined): Promise<void> {
  if (body === undefined || Buffer.isBuffer(body)) return void req.end(body);
  try {
    for await (const chunk of body) {
      if (req.destroyed) return;
      if (!req.write(chunk)) {
        await new Promise<void>((resolve) => {
          const go = () => (req.off('drain', go).off('close', go), resolve());
          req.on('drain', go).on('close', go);
        });
      }
    }
    req.end();
  } catch (e) {
    req.destroy(e as Error);
  }
}

/** A response read whole: status, content type and body text. */
interface Reply {
  status: number;
  contentType: string;
  text: string;
}

export class ApiClient {
  private readonly baseUrl: string;
  // node:http with keep-alive rather than fetch: undici's web streams and abort signals cost the
  // CLI more CPU per small upload than the server spends receiving it.
  private readonly agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  constructor(
    baseUrl: string,
    private readonly apikey: string,
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request('GET', path, query) as Promise<T>;
  }

  post<T = unknown>(path: string, body?: unknown): Promise<T> {
    return this.request('POST', path, undefined, body) as Promise<T>;
  }

  patch<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.request('PATCH', path, undefined, body) as Promise<T>;
  }

  delete<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.request('DELETE', path, query) as Promise<T>;
  }

  /** Yields every item of a collection, re-requesting with meta.cursor until there is none (vt-py's way). */
  async *iterate<T = unknown>(path: string, query: Query = {}): AsyncGenerator<T> {
    let cursor: string | undefined;
    do {
      const page = (await this.get(path, cursor ? { ...query, cursor } : query)) as Envelope;
      if (!Array.isArray(page.data)) throw new ApiError('ClientError', `${path} is not a collection`, 200);
      for (const item of page.data) yield item as T;
      cursor = page.data.length > 0 ? page.meta?.cursor : undefined;
    } while (cursor);
  }

  /**
   * Uploads one file as multipart part `file`, streaming it from disk and hashing it on the way.
   * Small files use POST /files, larger ones a one-time upload URL, as vt-go does; the size limit
   * itself is the server's to enforce since it is configurable there. With `to`, every file goes
   * to that path instead (the goodware corpus's route, which takes large files directly).
   */
  async uploadFile(path: string, name: string, onBytes?: (n: number) => void, knownSize?: number, to?: string): Promise<UploadResult> {
    const size = knownSize ?? (await stat(path)).size;
    let target = this.url(to ?? '/files');
    if (to === undefined && size > directUploadLimit) {
      const res = (await this.get('/files/upload_url')) as Envelope;
      if (typeof res.data !== 'string') throw new ApiError('ClientError', 'upload_url response has no URL', 200);
      target = res.data;
    }
    const hash = createHash('sha256');
    const body = await multipartBody(path, name, size, (chunk) => {
      hash.update(chunk);
      onBytes?.(chunk.length);
    });
    const res = (await this.send('POST', target, { 'content-type': body.contentType, 'content-length': String(body.length) }, body.body)) as Envelope;
    const data = res.data as { id?: unknown } | undefined;
    if (typeof data?.id !== 'string') throw new ApiError('ClientError', 'upload response has no analysis id', 200);
    return { analysisId: data.id, sha256: hash.digest('hex'), size };
  }

  /**
   * Server-sent events of `path` (the IoC Stream's live feed), from after `lastEventId` when
   * given. Ends when the server closes the stream; a dropped connection throws ConnectionError.
   */
  async *events(path: string, query: Query = {}, lastEventId?: string, signal?: AbortSignal): AsyncGenerator<{ id: string; data: string }> {
    const headers: Record<string, string> = { 'x-apikey': this.apikey, 'user-agent': userAgent, accept: 'text/event-stream' };
    if (lastEventId) headers['last-event-id'] = lastEventId;
    let res: Response;
    try {
      res = await fetch(this.url(path, query), { headers, signal });
    } catch (e) {
      throw this.connectionError(e);
    }
    if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      const text = await res.text().catch(() => '');
      let parsed: Envelope | undefined;
      try {
        parsed = JSON.parse(text) as Envelope;
      } catch {
        // not JSON: reported below
      }
      throw new ApiError(parsed?.error?.code ?? 'ServerError', parsed?.error?.message ?? `HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
    }
    const decoder = new TextDecoder();
    let buf = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
        for (let i; (i = buf.indexOf('\n\n')) >= 0; ) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let id = '';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('id:')) id = line.slice(3).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) yield { id, data: data.join('\n') };
        }
      }
    } catch (e) {
      if (signal?.aborted) return;
      throw this.connectionError(e);
    }
  }

  private url(path: string, query?: Query): string {
    const url = new URL(/^https?:\/\//.test(path) ? path : `${this.baseUrl}/api/v3${path.startsWith('/') ? '' : '/'}${path}`);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    return url.toString();
  }

  private request(method: string, path: string, query?: Query, body?: unknown): Promise<unknown> {
    const json = method === 'POST' || method === 'PATCH';
    const data = json ? Buffer.from(body === undefined ? '' : JSON.stringify(body)) : undefined;
    return this.send(method, this.url(path, query), json ? { 'content-type': 'application/json', 'content-length': String(data!.length) } : {}, data);
  }

  private async send(method: string, url: string, headers: Record<string, string>, body?: Body): Promise<unknown> {
    let res: Reply;
    try {
      res = await this.exchange(method, url, { ...headers, 'x-apikey': this.apikey, 'user-agent': userAgent, accept: 'application/json' }, body);
    } catch (e) {
      throw this.connectionError(e);
    }
    const { status, text } = res;
    let parsed: Envelope | undefined;
    if (res.contentType.startsWith('application/json') && text) {
      try {
        parsed = JSON.parse(text) as Envelope;
      } catch {
        throw new ApiError('ServerError', `invalid JSON from ${url}`, status);
      }
    }
    if (parsed?.error?.code) throw new ApiError(parsed.error.code, parsed.error.message ?? parsed.error.code, status);
    if (status < 200 || status > 299) throw new ApiError(status < 500 ? 'ClientError' : 'ServerError', `HTTP ${status}: ${text.slice(0, 200)}`, status);
    return parsed ?? {};
  }

  /**
   * One HTTP exchange over a kept-alive connection; the response is read whole as text. A request
   * whose reused connection the server had just closed is sent again once on a new one, when its
   * body can be sent again (not a stream).
   */
  private exchange(method: string, url: string, headers: Record<string, string>, body?: Body, retried = false): Promise<Reply> {
    const target = new URL(url);
    const tls = target.protocol === 'https:';
    return new Promise<Reply>((resolve, reject) => {
      const req = (tls ? httpsRequest : httpRequest)(target, { method, headers, agent: tls ? this.agents.https : this.agents.http });
      req.setTimeout(idleTimeoutMs, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.once('error', (err: NodeJS.ErrnoException) => {
        const replayable = body === undefined || Buffer.isBuffer(body);
        if (!retried && replayable && req.reusedSocket && err.code === 'ECONNRESET') resolve(this.exchange(method, url, headers, body, true));
        else reject(err);
      });
      req.once('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('error', reject);
        res.once('aborted', () => reject(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, contentType: String(res.headers['content-type'] ?? ''), text: Buffer.concat(chunks).toString('utf8') }));
      });
      void writeBody(req, body);
    });
  }

  private connectionError(e: unknown): Error {
    if (e instanceof ApiError || e instanceof ConnectionError) return e;
    // fetch (events) wraps the socket error in `cause`; several addresses give an AggregateError.
    let cause = (e as { cause?: unknown }).cause ?? e;
    if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
    if (cause instanceof FileChangedError) return cause;
    const c = cause as { code?: string; message?: string };
    const why = c.code ?? c.message ?? String(cause);
    const unreachable = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'];
    return unreachable.includes(why) || why === 'bad port'
      ? new ConnectionError(`cannot reach Trawl at ${this.baseUrl}: ${why}`, true)
      : new ConnectionError(`connection to Trawl at ${this.baseUrl} failed: ${why}`, false);
  }
}
