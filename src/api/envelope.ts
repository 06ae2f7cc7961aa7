// VirusTotal's envelope conventions (spec 1.2-1.4): absolute links built from the public origin,
// opaque cursors, `limit` parsing, and collection pages that never carry an empty page + cursor.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { badRequest } from '../model/errors.js';

export interface VtObject {
  type: string;
  id: string;
  links?: { self: string };
  attributes?: Record<string, unknown>;
  context_attributes?: Record<string, unknown>;
  relationships?: Record<string, unknown>;
}

/** The origin clients reached us at: the configured public URL, else the request's own. */
export function originOf(req: FastifyRequest, publicUrl: string): string {
  if (publicUrl) return publicUrl;
  return `${req.protocol}://${req.host}`;
}

/** Absolute URL of `path` (which starts with /api/v3) with `query` appended. */
export function absoluteUrl(origin: string, path: string, query?: Record<string, string | undefined>): string {
  if (!query) return origin + path; // every item of a page has a link: no URLSearchParams for none
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, v);
  const s = qs.toString();
  return origin + path + (s ? `?${s}` : '');
}

export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes a cursor made by encodeCursor and checks its shape; anything else is BadRequestError. */
export function decodeCursor<T>(raw: string, check: (v: unknown) => v is T): T {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
  } catch {
    throw badRequest(`invalid cursor "${raw.slice(0, 64)}"`);
  }
  if (!check(v)) throw badRequest(`invalid cursor "${raw.slice(0, 64)}"`);
  return v;
}

/** A cursor into a (date, id)-ordered list of notifications. */
export const isPosition = (v: unknown): v is { date: number; id: number } =>
  !!v && typeof v === 'object' && Number.isSafeInteger((v as { date: number }).date) && Number.isSafeInteger((v as { id: number }).id);

/** A cursor that is a sha256 (lists in sha256 order). */
export const isSha256 = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

/** Parses `limit`: default 10, integers >= 1, silently capped at `max` (lenient to clients). */
export function parseLimit(raw: unknown, max = 40): number {
  if (raw === undefined || raw === '') return 10;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim())) throw badRequest(`invalid limit "${String(raw)}": expected a positive integer`);
  const n = Number(raw);
  if (n < 1) throw badRequest(`invalid limit "${raw}": expected a positive integer`);
  return Math.min(n, max);
}

/** `count_limit` (spec 1.4): how far meta.count counts; at most 10,000. */
export function parseCountLimit(raw: string | undefined, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  if (!/^\d+$/.test(raw.trim()) || Number(raw) < 1) throw badRequest(`invalid count_limit "${raw}": expected a positive integer`);
  return Math.min(Number(raw), 10_000);
}

/** One query-string value: the last one if a key repeats, undefined if absent. */
export function queryValue(req: FastifyRequest, key: string): string | undefined {
  const v = (req.query as Record<string, string | string[] | undefined>)[key];
  return Array.isArray(v) ? v[v.length - 1] : v;
}

/** A boolean query parameter (`descriptors_only`): true/1, false/0 or absent; anything else is BadRequestError. */
export function boolParam(req: FastifyRequest, key: string): boolean {
  const v = (queryValue(req, key) ?? '').toLowerCase();
  if (v === '' || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw badRequest(`invalid ${key} "${v}": expected true or false`);
}

export interface Page<T> {
  items: T[];
  /** Cursor of the next page; undefined on the last page. */
  next?: string;
}

/** A collection's `meta` and `links` (see collection). */
function collectionTail(req: FastifyRequest, origin: string, page: { n: number; next?: string }, meta: Record<string, unknown>): Record<string, unknown> {
  const path = req.url.split('?')[0]!;
  const query = { ...(req.query as Record<string, string>) };
  const self = absoluteUrl(origin, path, query);
  const links: Record<string, string> = { self };
  const m: Record<string, unknown> = { ...meta };
  if (page.next && page.n > 0) {
    links.next = absoluteUrl(origin, path, { ...query, cursor: page.next });
    m.cursor = page.next;
  }
  return Object.keys(m).length ? { meta: m, links } : { links };
}

/**
 * A collection response. `links.self` reproduces the current request (with its cursor);
 * `links.next` and `meta.cursor` appear only when there is a next page.
 */
export function collection(
  req: FastifyRequest,
  origin: string,
  page: Page<VtObject>,
  meta: Record<string, unknown> = {},
): Record<string, unknown> {
  return { data: page.items, ...collectionTail(req, origin, { n: page.items.length, ...(page.next && { next: page.next }) }, meta) };
}

/**
 * Sends what collection() would, for items already serialized: `items` is their JSON text (or its
 * UTF-8 bytes), comma-separated, `n` how many there are.
 */
export function sendCollectionJson(req: FastifyRequest, reply: FastifyReply, origin: string, page: { items: string | Uint8Array; n: number; next?: string | undefined }, meta: Record<string, unknown> = {}): FastifyReply {
  const tail = JSON.stringify(collectionTail(req, origin, page, meta)).slice(1);
  const body = typeof page.items === 'string' ? `{"data":[${page.items}],${tail}`
    : Buffer.concat([Buffer.from('{"data":['), page.items, Buffer.from(`],${tail}`)]);
  return reply.type('application/json; charset=utf-8').send(body);
}
