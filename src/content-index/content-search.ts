// Content search (`GET /intelligence/search?query=content:...`): the content index narrows the
// stored files to those that may hold every term, and YARA-X verifies them in sha256 order, a
// page at a time. Scans run on the calling thread (an API process has no analysis pool), so each
// is of one file of at most maxScanBytes, read asynchronously, and a page stops once its time is
// spent: other requests run between two files.
import { readFile } from 'node:fs/promises';
import { unsupportedContentQuery } from '../model/errors.js';
import { loadYaraX, type YaraRules } from '../hunting/engine/yara-x.js';
import { snippet, SNIPPET_WIDTH } from '../hunting/scan/snippet.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { FileRecord, FileStore } from '../store/store.js';
import type { ContentIndex } from './content-index.js';
import { contentGrams, parseContentQuery, type ContentQuery } from './content-query.js';

/** Where a term matched a file: what a snippet shows. */
export interface MatchRange {
  offset: number;
  length: number;
}

/** A file that holds every term, with the first match of each. */
export interface ContentMatch {
  file: FileRecord;
  ranges: MatchRange[];
}

export interface ContentPage {
  matches: ContentMatch[];
  /** The last sha256 examined, when candidates remain after it; null: the search is over. */
  next: string | null;
  /** Candidates in all; files this page scanned, and those it left out (too large, gone, too slow). */
  candidates: number;
  scanned: number;
  skipped: number;
}

export interface ContentSearchOptions {
  /** Larger files are not scanned (as Livehunt's and Retrohunt's). */
  maxScanBytes: number;
  /** A page with a match is answered once this long was spent (default 400 ms). */
  pageMs?: number;
  /** A page still without a match gives up after this long (default 10 s). */
  emptyPageMs?: number;
}

/** vt-cli's highlight markers (cmd/search.go turns them into bold). */
export const SEARCH_MARKERS = { begin: '\x1c', end: '\x1d' };
/** Candidates whose records are read at once. */
const BATCH = 16;
/** Bytes of a match a snippet shows at most. */
const SNIPPET_MATCH_BYTES = 1024;
/** The engine checks its timeout once a second: one second is the least a scan can be given. */
const SCAN_TIMEOUT_MS = 1000;
const COMPILE_OPTIONS = { relaxedReSyntax: true, enableIncludes: false };

/** The engine's error as one line: `syntax error: expecting ..., found ...`. */
function engineMessage(err: unknown): string {
  const lines = String((err as Error).message ?? err).split('\n');
  const head = (lines[0] ?? '').replace(/^Compilation error \([^)]*\):\s*/, '').replace(/^error\[\w+\]:\s*/, '').replace(/ `\$t\d+`/, '');
  const caret = lines.map((l) => /^\s*\|\s*\^+\s*(.*)$/.exec(l)?.[1]).filter(Boolean).pop();
  return caret ? `${head}: ${caret}` : head;
}

/** Compiles the query's rule; a term the engine refuses is UnsupportedContentQueryError, named. */
function compile(q: ContentQuery): YaraRules {
  const yx = loadYaraX();
  try {
    return yx.compile(q.rule, COMPILE_OPTIONS);
  } catch (err) {
    for (const t of q.terms) {
      try {
        yx.compile(`rule t { strings: $t0 = ${t.pattern} condition: $t0 }`, COMPILE_OPTIONS);
      } catch (termErr) {
        throw unsupportedContentQuery(`${t.source}: ${engineMessage(termErr)}`);
      }
    }
    throw unsupportedContentQuery(engineMessage(err));
  }
}

/** First index of `list` (ascending) greater than `after`. */
function firstAfter(list: readonly string[], after: string | null): number {
  if (after === null) return 0;
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]! <= after) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class ContentSearch {
  private readonly pageMs: number;
  private readonly emptyPageMs: number;

  constructor(
    private readonly store: Pick<FileStore, 'getFile' | 'getFiles'>,
    private readonly blobs: BlobStore,
    /** Null: the content index is off, and searches are refused. */
    private readonly index: ContentIndex | null,
    private readonly opts: ContentSearchOptions,
  ) {
    this.pageMs = opts.pageMs ?? 400;
    this.emptyPageMs = opts.emptyPageMs ?? 10_000;
  }

  /**
   * Up to `limit` files holding every term of `query`, the first ones by sha256 after `after`.
   * A page ends early once `pageMs` is spent with a match in hand, and a page without a match
   * gives up after `emptyPageMs` (empty, with `next`); `next` says where to go on. Files over
   * maxScanBytes, gone from the blob store, or whose scan outlasts a second are left out
   * (`skipped`). A client gone (`signal`) ends the page where it is. Throws what
   * parseContentQuery throws, UnsupportedContentQueryError when a term does not compile or the
   * content index is off, then what contentGrams throws.
   */
  async search(query: string, page: { after: string | null; limit: number }, signal?: AbortSignal): Promise<ContentPage> {
    const q = parseContentQuery(query);
    const rules = compile(q);
    if (!this.index) throw unsupportedContentQuery('content search needs the content index (the contentIndex setting is off)');
    const grams = contentGrams(q);
    rules.setMaxMatchesPerPattern(1);
    rules.setTimeout(SCAN_TIMEOUT_MS);
    const started = performance.now();
    const { sha256s } = await this.index.candidates(grams);
    const out: ContentPage = { matches: [], next: null, candidates: sha256s.length, scanned: 0, skipped: 0 };
    let last = page.after;
    // A page examines one file at least, so that every page moves on.
    const over = () => {
      if (last === page.after) return false;
      const spent = performance.now() - started;
      return out.matches.length >= page.limit || spent > (out.matches.length > 0 ? this.pageMs : this.emptyPageMs) || signal?.aborted === true;
    };
    for (let at = firstAfter(sha256s, page.after); at < sha256s.length && !over(); at += BATCH) {
      const batch = sha256s.slice(at, at + BATCH);
      const bySha = new Map((await this.store.getFiles(batch)).map((f) => [f.sha256, f]));
      for (const sha256 of batch) {
        if (over()) break;
        last = sha256;
        const f = bySha.get(sha256);
        if (!f) continue; // in the index, not (yet) a file: nothing to show
        const ranges = f.size > this.opts.maxScanBytes ? undefined : await this.scan(rules, f, q.terms.length);
        if (ranges === undefined) out.skipped++;
        else out.scanned++;
        if (ranges) out.matches.push({ file: f, ranges });
      }
    }
    if (last !== null && firstAfter(sha256s, last) < sha256s.length) out.next = last;
    return out;
  }

  /**
   * The first match of each term in `f`; null when some term is not in it, undefined when it
   * could not be read or its scan timed out.
   */
  private async scan(rules: YaraRules, f: FileRecord, terms: number): Promise<MatchRange[] | null | undefined> {
    const path = await this.blobs.localPath(f.sha256);
    if (!path) return undefined;
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch {
      return undefined; // removed under us (a cache eviction): as gone
    }
    let found;
    try {
      found = rules.scan(data);
    } catch {
      return undefined; // timed out
    }
    const first = new Map<string, MatchRange>();
    for (const m of found[0]?.matches ?? []) {
      const seen = first.get(m.identifier);
      if (!seen || m.offset < seen.offset) first.set(m.identifier, { offset: m.offset, length: m.length });
    }
    const ranges = Array.from({ length: terms }, (_, i) => first.get(`$t${i}`));
    return ranges.every((r) => r !== undefined) ? (ranges as MatchRange[]) : null;
  }

  /**
   * One hexdump per range of `sha256`: its lines and one line before and after, the matched bytes
   * (their first SNIPPET_MATCH_BYTES) between SEARCH_MARKERS. Null when the file, or a range in
   * it, is not there.
   */
  async snippets(sha256: string, ranges: readonly MatchRange[]): Promise<string[] | null> {
    const f = await this.store.getFile(sha256);
    if (!f || f.sha256 !== sha256) return null;
    const out: string[] = [];
    for (const r of ranges) {
      if (r.offset >= f.size) return null;
      const length = Math.max(1, Math.min(r.length, SNIPPET_MATCH_BYTES, f.size - r.offset));
      // Whole lines, so that the window's lines are the file's.
      const start = Math.max(0, (Math.floor(r.offset / SNIPPET_WIDTH) - 1) * SNIPPET_WIDTH);
      const end = Math.min(f.size, (Math.floor((r.offset + length - 1) / SNIPPET_WIDTH) + 2) * SNIPPET_WIDTH);
      const stream = await this.blobs.read(sha256, { start, end: end - 1 });
      if (!stream) return null;
      const chunks: Buffer[] = [];
      for await (const c of stream) chunks.push(c as Buffer);
      const window = Buffer.concat(chunks);
      out.push(snippet(window, [{ offset: r.offset - start, length }], { markers: SEARCH_MARKERS, maxLength: 1 << 16 }) ?? '');
    }
    return out;
  }
}
