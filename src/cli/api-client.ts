// HTTP client the CLI uses to talk to a Trawl server over its VirusTotal-compatible API v3.
// Turns error envelopes into ApiError and network failures into messages that name the server.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
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

/**
 * A multipart/form-data body with a single `file` part, streamed from disk with an exact length
 * so the server can refuse an oversized upload before reading it, and no whole file in memory.
 */
function multipartBody(path: string, name: string, size: number, onChunk: (chunk: Buffer) => void) {
  const boundary = `----trawl${randomBytes(12).toString('hex')}`;
  const filename = name.replace(/[\r\n]/g, ' ').replace(/"/g, '%22');
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
      'Content-Type: application/octet-stream\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  async function* stream(): AsyncGenerator<Buffer> {
    yield head;
    let sent = 0;
    if (size > 0) {
      for await (const chunk of createReadStream(path, { start: 0, end: size - 1, highWaterMark: MB })) {
        sent += (chunk as Buffer).length;
        onChunk(chunk as Buffer);
        yield chunk as Buffer;
      }
    }
    if (sent !== size) throw new FileChangedError(`${path} shrank while being uploaded`);
    yield tail;
  }
  return { stream: stream(), length: head.length + size + tail.length, contentType: `multipart/form-data; boundary=${boundary}` };
}

export class ApiClient {
  private readonly baseUrl: string;

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
   * itself is the server's to enforce since it is configurable there.
   */
  async uploadFile(path: string, name: string, onBytes?: (n: number) => void): Promise<UploadResult> {
    const { size } = await stat(path);
    let target = this.url('/files');
    if (size > directUploadLimit) {
      const res = (await this.get('/files/upload_url')) as Envelope;
      if (typeof res.data !== 'string') throw new ApiError('ClientError', 'upload_url response has no URL', 200);
      target = res.data;
    }
    const hash = createHash('sha256');
    const body = multipartBody(path, name, size, (chunk) => {
      hash.update(chunk);
      onBytes?.(chunk.length);
    });
    // undici accepts an async iterable body (with duplex: 'half'); the DOM typings don't say so.
    const res = (await this.send('POST', target, {
      body: body.stream as unknown as ReadableStream,
      duplex: 'half',
      headers: { 'content-type': body.contentType, 'content-length': String(body.length) },
    } as RequestInit)) as Envelope;
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
    const init: RequestInit = {};
    if (method === 'POST' || method === 'PATCH') {
      init.headers = { 'content-type': 'application/json' };
      init.body = body === undefined ? '' : JSON.stringify(body);
    }
    return this.send(method, this.url(path, query), init);
  }

  private async send(method: string, url: string, init: RequestInit): Promise<unknown> {
    const headers = { ...(init.headers as Record<string, string>), 'x-apikey': this.apikey, 'user-agent': userAgent, accept: 'application/json' };
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, { ...init, method, headers });
      text = await res.text();
    } catch (e) {
      throw this.connectionError(e);
    }
    let parsed: Envelope | undefined;
    if ((res.headers.get('content-type') ?? '').startsWith('application/json') && text) {
      try {
        parsed = JSON.parse(text) as Envelope;
      } catch {
        throw new ApiError('ServerError', `invalid JSON from ${url}`, res.status);
      }
    }
    if (parsed?.error?.code) throw new ApiError(parsed.error.code, parsed.error.message ?? parsed.error.code, res.status);
    if (!res.ok) throw new ApiError(res.status < 500 ? 'ClientError' : 'ServerError', `HTTP ${res.status}: ${text.slice(0, 200)}`, res.status);
    return parsed ?? {};
  }

  private connectionError(e: unknown): Error {
    if (e instanceof ApiError || e instanceof ConnectionError) return e;
    // undici wraps the socket error in `cause`; several addresses give an AggregateError of them.
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
