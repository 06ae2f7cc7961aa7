// The content index as searches read it: which stored files may hold what a query requires.
// Three places hold files, read in this order so that a file moving between them while a search
// runs is seen at least once (store/sql/content-index.ts): files not in the index (always
// candidates), files indexed since the last segment (their trigram lists, read one by one), and
// the segments (postings, read in place from the blob store's copy).
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { ContentIndexSegment, ContentIndexStore } from '../store/store.js';
import { decodeAscending } from './grams.js';
import { evaluate, type GramQuery } from './gram-query.js';
import { SegmentFormatError, SegmentReader } from './segment.js';
import { TrawlError } from '../model/errors.js';

const PAGE = 5000;

/** What a search narrowed the corpus to. */
export interface Candidates {
  /** sha256s ascending: every file that may match (files not in the index included). */
  sha256s: string[];
  /** Of which, files not in the index (scanned whatever the query). */
  unindexed: number;
  /** Files the index answered for (pending and in segments). */
  indexedFiles: number;
}

/**
 * The index cannot answer now: a segment is missing or unreadable (the upkeep then starts the
 * index over: content-index-job.ts), or the index was started over while this search read it.
 * Retrohunt scans every file instead; a content search answers it (TransientError: retry later).
 */
export class ContentIndexUnusableError extends TrawlError {
  constructor(reason: string) {
    super('TransientError', `the content index cannot answer now (${reason}); it rebuilds itself: retry in a few minutes`);
  }
}

export class ContentIndex {
  /** Open segments by blob; closed once no longer live. */
  private readonly readers = new Map<string, SegmentReader>();

  constructor(
    private readonly store: ContentIndexStore,
    private readonly blobs: BlobStore,
  ) {}

  /** Files that may satisfy `q`; with `q` null (no requirement), every file is a candidate: null then. */
  async candidates(q: GramQuery): Promise<Candidates> {
    const epoch = await this.store.contentIndexEpoch();
    const found = await this.read(q);
    if ((await this.store.contentIndexEpoch()) !== epoch) throw new ContentIndexUnusableError('it was started over during the search');
    return found;
  }

  private async read(q: GramQuery): Promise<Candidates> {
    const out = new Set<string>();
    let unindexed = 0;
    for (let after: string | null = null; ;) {
      const page: string[] = await this.store.listUnindexedFiles(after, PAGE);
      for (const s of page) out.add(s);
      unindexed += page.length;
      if (page.length < PAGE) break;
      after = page[page.length - 1]!;
    }
    let indexedFiles = 0;
    for (let afterSeq = 0; ;) {
      const page = await this.store.listPendingGrams(afterSeq, PAGE);
      for (const p of page) {
        const grams = decodeAscending(p.grams);
        if (evaluate(q, (g) => (binaryHas(grams, g) ? ONE : NONE)).length > 0) out.add(p.sha256);
      }
      indexedFiles += page.length;
      if (page.length < PAGE) break;
      afterSeq = page[page.length - 1]!.seq;
    }
    const segments = await this.store.listIndexSegments();
    for (const s of segments) {
      // A segment of another format, or cut short, is found at its opening or at a lookup.
      try {
        const reader = await this.open(s);
        for (const o of evaluate(q, (g) => reader.postings(g))) out.add(reader.sha256(o));
        indexedFiles += reader.files;
      } catch (err) {
        if (err instanceof SegmentFormatError) throw new ContentIndexUnusableError(`segment ${s.blob}: ${err.message}`);
        throw err;
      }
    }
    this.closeRetired(segments);
    return { sha256s: [...out].sort(), unindexed, indexedFiles };
  }

  private async open(s: ContentIndexSegment): Promise<SegmentReader> {
    let r = this.readers.get(s.blob);
    if (r) return r;
    const path = await this.blobs.localPath(s.blob);
    if (!path) throw new ContentIndexUnusableError(`segment ${s.blob} is missing from the blob store`);
    r = SegmentReader.open(path);
    this.readers.set(s.blob, r);
    return r;
  }

  private closeRetired(live: readonly ContentIndexSegment[]): void {
    const keep = new Set(live.map((s) => s.blob));
    for (const [blob, r] of this.readers) {
      if (keep.has(blob)) continue;
      r.close();
      this.readers.delete(blob);
    }
  }

  close(): void {
    for (const r of this.readers.values()) r.close();
    this.readers.clear();
  }
}

const ONE = Uint32Array.of(0);
const NONE = new Uint32Array(0);

function binaryHas(sorted: Uint32Array, v: number): boolean {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = sorted[mid]!;
    if (x === v) return true;
    if (x < v) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}
