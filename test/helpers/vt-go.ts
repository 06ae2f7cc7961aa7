// A stand-in for vt-go's Client (github.com/VirusTotal/vt-go, which vt-cli is built on), written
// from its source: the headers sendRequest sets, how parseResponse tells an error (by `error.code`
// in a JSON body, whatever the status), how the Iterator builds its first URL and follows
// links.next. Tests replay vt-cli's commands through it, so a shape vt-cli would choke on fails.
import assert from 'node:assert/strict';

export interface VtGoResponse {
  status: number;
  data: any;
  meta?: any;
  links?: { self?: string; next?: string };
}

export class VtGoClient {
  constructor(
    /** `vt --host http://127.0.0.1:port` (vt.SetHost keeps the /api/v3/ path). */
    private readonly host: string,
    readonly apiKey: string,
  ) {}

  /** vt.URL: a path relative to <host>/api/v3/, possibly with its own query. */
  url(path: string): URL {
    return new URL(path, `${this.host}/api/v3/`);
  }

  /** sendRequest + parseResponse. Trawl also promises status 200 on success (vt-py needs it). */
  async send(method: string, url: URL | string, body?: unknown, headers: Record<string, string> = {}): Promise<VtGoResponse> {
    const h: Record<string, string> = { 'User-Agent': 'vt-cli 1.0.1; vtgo 1.1.0; gzip', 'Accept-Encoding': 'gzip', 'X-Apikey': this.apiKey, ...headers };
    // Post and Patch default the content type to JSON; with no request (vt-cli's `retrohunt
    // abort` posts nil) the body is empty.
    let payload: string | FormData | undefined;
    if (body instanceof FormData) payload = body;
    else if (method === 'POST' || method === 'PATCH') {
      h['Content-Type'] ??= 'application/json';
      payload = body === undefined ? '' : JSON.stringify(body);
    }
    const res = await fetch(url, { method, headers: h, body: payload });
    const text = await res.text();
    const label = `${method} ${String(url)}`;
    if (text.length === 0) return { status: res.status, data: undefined };
    assert.ok((res.headers.get('content-type') ?? '').startsWith('application/json'), `${label}: vt-go wants JSON, got ${res.headers.get('content-type')}`);
    const parsed = JSON.parse(text);
    assert.ok(!parsed.error?.code, `${label}: vt-go error ${JSON.stringify(parsed.error)}`);
    assert.equal(res.status, 200, `${label}: ${text.slice(0, 200)}`);
    return { status: res.status, data: parsed.data, meta: parsed.meta, links: parsed.links };
  }

  /** The error vt-go would return (it reads only the body's error.code). */
  async error(method: string, url: URL | string, headers: Record<string, string> = {}): Promise<{ code: string; message: string; status: number }> {
    const res = await fetch(url, { method, headers: { 'X-Apikey': this.apiKey, ...headers } });
    assert.ok((res.headers.get('content-type') ?? '').startsWith('application/json'));
    const body = await res.json() as { error?: { code: string; message: string } };
    assert.ok(body.error?.code, `${method} ${String(url)}: expected an error, got ${JSON.stringify(body).slice(0, 200)}`);
    return { ...body.error, status: res.status };
  }

  /** GetObject: `data` must decode as an Object (type and id). */
  async getObject(path: string): Promise<any> {
    const r = await this.send('GET', this.url(path));
    assertObject(r.data, path);
    return r.data;
  }

  /**
   * Iterator with vt-cli's options: IteratorLimit (client-side, no `limit` sent), IteratorFilter
   * (added to the first URL with url.Values.Encode: sorted keys, spaces as `+`). Follows
   * links.next verbatim until an empty page or no next link.
   */
  async iterate(path: string, opts: { limit?: number; filter?: string } = {}): Promise<{ items: any[]; pages: number }> {
    const first = this.url(path);
    if (opts.filter) first.searchParams.append('filter', opts.filter);
    first.searchParams.sort();
    const limit = opts.limit ?? 10;
    const items: any[] = [];
    let next: string | undefined = first.toString();
    let pages = 0;
    while (next && items.length < limit) {
      const r = await this.send('GET', next);
      pages++;
      assert.ok(Array.isArray(r.data), `${next}: data is not a collection`);
      for (const o of r.data) assertObject(o, next);
      if (r.data.length === 0) break;
      items.push(...r.data);
      // vt-go builds its resumable cursor from these: both absolute when present.
      assert.ok(r.links?.self?.startsWith(this.host), `${next}: links.self ${r.links?.self}`);
      next = r.links?.next;
      if (next) assert.ok(next.startsWith(this.host), `links.next must be absolute: ${next}`);
    }
    return { items: items.slice(0, limit), pages };
  }
}

function assertObject(o: any, where: string): void {
  assert.ok(o && typeof o.type === 'string' && typeof o.id === 'string' && o.id !== '', `${where}: not an object: ${JSON.stringify(o)?.slice(0, 200)}`);
}
