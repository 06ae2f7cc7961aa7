// Content search (`GET /intelligence/search?query=content:...`): the content index narrows the
// stored files to those that may hold every term, and YARA-X verifies them in sha256 order, a
// page at a time. The CPU work (compiling the rule, narrowing, reading and scanning files) runs on
// the search threads (content-search-thread.ts), a batch of candidates per task, so that the
// event loop keeps answering other requests; it only reads the database, resolves blob paths and
// keeps the page's account. A page stops once its time is spent.
import { unsupportedContentQuery } from '../model/errors.js';
import { snippet, SNIPPET_WIDTH } from '../hunting/scan/snippet.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { FileRecord, FileStore } from '../store/store.js';
import { WorkerPool } from '../threads/worker-pool.js';
import type { ContentIndex, PackedCandidates } from './content-index.js';
import { contentGrams, parseContentQuery } from './content-query.js';
import { compileContentQuery, pageOver, wallNow, type CandidatesTask, type CompileTask, type MatchRange, type PageState, type ScanEntry, type ScanOutcome, type ScanTask } from './content-scan.js';

export type { MatchRange } from './content-scan.js';

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
/** Candidates whose records are read, and which are scanned, in one task: a thread's round trip costs the event loop ~0.1 ms. */
const BATCH = 16;
/** Bytes of a match a snippet shows at most. */
const SNIPPET_MATCH_BYTES = 1024;
/**
 * A task's deadline on a search thread (then the thread is replaced): a batch is 16 scans of a
 * second at most (the engine's timeout), a narrowing a few seconds on the largest corpora.
 */
const TASK_TIMEOUT_MS = 120_000;

/** The threads content searches run on: `size` of them, at `nice` (Linux), so that the event loop gets the cores first. */
export function contentSearchThreads(size: number, nice: number): WorkerPool {
  return new WorkerPool({ script: new URL('./content-search-thread.js', import.meta.url), size, nice, taskTimeoutMs: TASK_TIMEOUT_MS });
}

/** Candidates as the search thread packed them (narrow()): read in place, a page's worth turned to hex. */
class CandidateList {
  readonly length: number;
  private readonly bytes: Buffer;

  constructor(packed: Uint8Array) {
    this.bytes = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
    this.length = packed.byteLength / 32;
  }

  at(i: number): string {
    return this.bytes.toString('hex', i * 32, i * 32 + 32);
  }

  /** First index of a sha256 greater than `after`. */
  firstAfter(after: string | null): number {
    if (after === null) return 0;
    const key = Buffer.from(after, 'hex');
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // (list[mid] compared with key: <= 0 when it is not after it)
      if (this.bytes.compare(key, 0, 32, mid * 32, mid * 32 + 32) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export class ContentSearch {
  private readonly pageMs: number;
  private readonly emptyPageMs: number;

  constructor(
    private readonly store: Pick<FileStore, 'getFile' | 'getFiles'>,
    private readonly blobs: BlobStore,
    /** Null: the content index is off, and searches are refused. */
    private readonly index: ContentIndex | null,
    /** The search threads (contentSearchThreads()); null with the index off. */
    private readonly threads: WorkerPool | null,
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
   * (`skipped`). A client gone (`signal`) ends the page where it is. `lane`: whose search it is
   * (the threads serve several users' searches in turn). Throws what parseContentQuery throws,
   * UnsupportedContentQueryError when a term does not compile or the content index is off, then
   * what contentGrams throws.
   */
  async search(query: string, page: { after: string | null; limit: number }, signal?: AbortSignal, lane = ''): Promise<ContentPage> {
    const q = parseContentQuery(query);
    const { index, threads } = this;
    if (!index || !threads) {
      compileContentQuery(q); // a term the engine refuses is named first, as with the index on
      throw unsupportedContentQuery('content search needs the content index (the contentIndex setting is off)');
    }
    const rule = { rule: q.rule, terms: q.terms };
    await threads.run<void>({ kind: 'content-compile', query: rule } satisfies CompileTask, [], { lane });
    const grams = contentGrams(q);
    const started = wallNow();
    const found = await index.read((snap) => threads.run<PackedCandidates>({ kind: 'content-candidates', grams, snap } satisfies CandidatesTask, [], { lane }));
    const list = new CandidateList(found.packed);
    const out: ContentPage = { matches: [], next: null, candidates: list.length, scanned: 0, skipped: 0 };
    const state: PageState = { startedAt: started, limit: page.limit, pageMs: this.pageMs, emptyPageMs: this.emptyPageMs, matches: 0, examined: false };
    // Seen by the thread between two files of a batch.
    const abort = new Int32Array(new SharedArrayBuffer(4));
    const onAbort = () => Atomics.store(abort, 0, 1);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let last = page.after;
    try {
      // The next batch's records and paths are read while the thread scans this one.
      let next = this.prepare(list, list.firstAfter(page.after));
      while (next && !pageOver(state, signal?.aborted === true)) {
        const { batch, bySha, files } = await next.ready;
        const scanning = threads.run<ScanOutcome[]>({ kind: 'content-scan', query: rule, files, page: state, abort } satisfies ScanTask, [], { lane });
        const following = this.prepare(list, next.at + batch.length);
        const outcomes = await scanning;
        outcomes.forEach((o, i) => {
          last = batch[i]!;
          state.examined = true;
          if (o === 'absent') return;
          if (o === 'skipped') return void out.skipped++;
          out.scanned++;
          if (o) {
            out.matches.push({ file: bySha.get(last)!, ranges: o });
            state.matches++;
          }
        });
        // The thread stops a batch where the page is over (then `following` is not needed).
        if (outcomes.length < batch.length) break;
        next = following;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    if (last !== null && list.firstAfter(last) < list.length) out.next = last;
    return out;
  }

  /**
   * The records of the candidates from `at` (a batch), and what the search thread gets of each;
   * null past the last. Its failure is the caller's once it awaits `ready`.
   */
  private prepare(list: CandidateList, at: number): { at: number; ready: Promise<{ batch: string[]; bySha: Map<string, FileRecord>; files: ScanEntry[] }> } | null {
    if (at >= list.length) return null;
    const batch = Array.from({ length: Math.min(BATCH, list.length - at) }, (_, i) => list.at(at + i));
    const ready = (async () => {
      const bySha = new Map((await this.store.getFiles(batch)).map((f) => [f.sha256, f]));
      const files = await Promise.all(batch.map((sha256): Promise<ScanEntry> | ScanEntry => {
        const f = bySha.get(sha256);
        if (!f) return null;
        if (f.size > this.opts.maxScanBytes) return { path: null };
        return this.blobs.localPath(sha256).then((path) => ({ path }));
      }));
      return { batch, bySha, files };
    })();
    ready.catch(() => undefined); // a batch read ahead and not needed (the page over) fails unseen
    return { at, ready };
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
