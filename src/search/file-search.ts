// Intelligence search over stored files (`GET /intelligence/search` without `content:`): the
// query read by search-query.ts, VirusTotal's `order=`, and pages with opaque keyset cursors.
import { badRequest } from '../model/errors.js';
import { SEARCH_ORDER_FIELDS, type SearchOrder, type SearchOrderField, type SearchPosition } from '../model/file-search.js';
import type { FileRecord } from '../model/records.js';
import type { FileStore } from '../store/store.js';
import { loneHash, parseSearchQuery } from './search-query.js';

/** Where the next page starts, with the order it belongs to (a cursor of another order is refused). */
export interface SearchCursor extends SearchPosition {
  order: string;
}

export interface FileSearchPage {
  files: FileRecord[];
  /** Null on the last page. */
  next: SearchCursor | null;
}

export interface FileSearchRequest {
  query: string;
  order?: string | undefined;
  after: SearchCursor | null;
  limit: number;
  userId: number;
  signal?: AbortSignal;
}

/** VirusTotal's short names of the orders' attributes. */
const ORDER_ALIASES: Record<string, SearchOrderField> = { fs: 'first_submission_date', ls: 'last_submission_date', submissions: 'times_submitted' };
const DEFAULT_ORDER: SearchOrder = { field: 'last_submission_date', dir: 'desc' };

/** `order=size+` (ascending) or `order=size-`/`order=size` (descending: most, or most recent, first). */
export function parseSearchOrder(raw: string | undefined): SearchOrder {
  if (!raw) return DEFAULT_ORDER;
  const dir = raw.endsWith('+') ? 'asc' : 'desc';
  const name = /[+-]$/.test(raw) ? raw.slice(0, -1) : raw;
  const field = ORDER_ALIASES[name] ?? SEARCH_ORDER_FIELDS.find((f) => f === name);
  if (!field) throw badRequest(`invalid order "${raw.slice(0, 100)}": files are ordered by ${SEARCH_ORDER_FIELDS.join(', ')}, each with + (ascending) or - (descending)`);
  return { field, dir };
}

const orderName = (o: SearchOrder) => `${o.field}${o.dir === 'asc' ? '+' : '-'}`;

/** The value a file has in an order's column (what a cursor carries). */
function orderValue(f: FileRecord, field: SearchOrderField): number {
  switch (field) {
    case 'last_submission_date': return f.lastSubmissionDate;
    case 'first_submission_date': return f.firstSubmissionDate;
    case 'size': return f.size;
    case 'times_submitted': return f.timesSubmitted;
  }
}

/** A decoded cursor's shape, checked before it reaches a statement. */
export const isSearchCursor = (v: unknown): v is SearchCursor => {
  const c = v as SearchCursor;
  return !!c && typeof c === 'object' && typeof c.order === 'string' && Number.isSafeInteger(c.value) && typeof c.sha256 === 'string' && /^[0-9a-f]{64}$/.test(c.sha256);
};

export class FileSearch {
  constructor(private readonly store: Pick<FileStore, 'searchFiles' | 'getFile'>) {}

  /**
   * A page of the files `r.query` matches. A query that is one hash alone is that file (or
   * nothing). Throws BadRequestError for what parseSearchQuery and parseSearchOrder refuse, and
   * for a cursor of another order.
   */
  async search(r: FileSearchRequest): Promise<FileSearchPage> {
    const expr = parseSearchQuery(r.query);
    const order = parseSearchOrder(r.order);
    if (r.after && r.after.order !== orderName(order)) throw badRequest(`the cursor belongs to order=${r.after.order}, not ${orderName(order)}`);
    const hash = loneHash(expr);
    if (hash) {
      if (r.after) return { files: [], next: null };
      const f = await this.store.getFile(hash.value);
      return { files: f ? [f] : [], next: null };
    }
    const rows = await this.store.searchFiles({ expr, order, after: r.after, limit: r.limit + 1, userId: r.userId }, r.signal);
    const files = rows.slice(0, r.limit);
    const last = files[files.length - 1];
    const next = rows.length > r.limit && last ? { order: orderName(order), value: orderValue(last, order.field), sha256: last.sha256 } : null;
    return { files, next };
  }
}
