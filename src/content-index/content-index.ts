// The content index as searches read it: which stored files may hold what a query requires.
// Three places hold files, read in this order so that a file moving between them while a search
// runs is seen at least once (store/sql/content-index.ts): files not in the index (always
// candidates), files indexed since the last segment (their trigram lists, read one by one), and
// the segments (postings, read in place from the blob store's copy). The reads of the database
// (a snapshot) and the narrowing are apart: a content search narrows on its own thread.
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { ContentIndexStore } from '../store/store.js';
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

/**
 * What the index holds at one moment, as read from the database and the blob store: all that
 * narrow() needs, so that the narrowing (segment reads, set work, the sort) can run on a thread
 * of its own (content-search-thread.ts) as well as here. Structured-cloneable.
 */
export interface IndexSnapshot {
  /** Files not in the index: candidates of every search. */
  unindexed: string[];
  /** Files indexed since the last segment, with their encoded trigrams. */
  pending: { sha256: string; grams: Uint8Array }[];
  /** Live segments, with where the blob store keeps each one's bytes on this machine. */
  segments: { blob: string; path: string }[];
}

/** Candidates as narrow() gives them: sha256s ascending, 32 bytes each, in one buffer (cheap to pass between threads). */
export interface PackedCandidates {
  packed: Uint8Array;
  unindexed: number;
  indexedFiles: number;
}

/** Segments opened once per thread that reads them; closed once no longer live. */
export class SegmentReaders {
  private readonly readers = new Map<string, SegmentReader>();

  get(s: { blob: string; path: string }): SegmentReader {
    let r = this.readers.get(s.blob);
    if (!r) {
      r = SegmentReader.open(s.path);
      this.readers.set(s.blob, r);
    }
    return r;
  }

  /** Closes the readers of segments not in `live`. */
  keepOnly(live: readonly { blob: string }[]): void {
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

/**
 * The files of `snap` that may satisfy `q`. A segment of another format, or cut short (found at
 * its opening or at a lookup), is ContentIndexUnusableError.
 */
export function narrow(q: GramQuery, snap: IndexSnapshot, readers: SegmentReaders): PackedCandidates {
  const out = new Set<string>(snap.unindexed);
  for (const p of snap.pending) {
    const grams = decodeAscending(p.grams);
    if (evaluate(q, (g) => (binaryHas(grams, g) ? ONE : NONE)).length > 0) out.add(p.sha256);
  }
  let indexedFiles = snap.pending.length;
  for (const s of snap.segments) {
    try {
      const reader = readers.get(s);
      for (const o of evaluate(q, (g) => reader.postings(g))) out.add(reader.sha256(o));
      indexedFiles += reader.files;
    } catch (err) {
      if (err instanceof SegmentFormatError) throw new ContentIndexUnusableError(`segment ${s.blob}: ${err.message}`);
      throw err;
    }
  }
  readers.keepOnly(snap.segments);
  const sorted = [...out].sort();
  // Not from the shared pool: a small buffer of it would be sent to the API thread with its 8 KB pool.
  const packed = Buffer.allocUnsafeSlow(sorted.length * 32);
  sorted.forEach((h, i) => packed.write(h, i * 32, 32, 'hex'));
  return { packed, unindexed: snap.unindexed.length, indexedFiles };
}

/** The sha256s of `packed` (narrow()'s) as hex strings. */
export function unpack(packed: Uint8Array): string[] {
  const b = Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
  const out: string[] = new Array(b.length / 32);
  for (let i = 0; i < out.length; i++) out[i] = b.toString('hex', i * 32, i * 32 + 32);
  return out;
}

export class ContentIndex {
  /** Open segments, for the narrowing done on this thread (Retrohunt jobs). */
  private readonly readers = new SegmentReaders();

  constructor(
    private readonly store: ContentIndexStore,
    private readonly blobs: BlobStore,
  ) {}

  /** Files that may satisfy `q`, narrowed on this thread. */
  async candidates(q: GramQuery): Promise<Candidates> {
    const found = await this.read((snap) => narrow(q, snap, this.readers));
    return { sha256s: unpack(found.packed), unindexed: found.unindexed, indexedFiles: found.indexedFiles };
  }

  /**
   * What `answer` makes of the index as it is now (a snapshot of it), checked against a start-over
   * meanwhile: ContentIndexUnusableError then, as for a missing segment.
   */
  async read<T>(answer: (snap: IndexSnapshot) => T | Promise<T>): Promise<T> {
    const epoch = await this.store.contentIndexEpoch();
    const found = await answer(await this.snapshot());
    if ((await this.store.contentIndexEpoch()) !== epoch) throw new ContentIndexUnusableError('it was started over during the search');
    return found;
  }

  private async snapshot(): Promise<IndexSnapshot> {
    const unindexed: string[] = [];
    for (let after: string | null = null; ;) {
      const page: string[] = await this.store.listUnindexedFiles(after, PAGE);
      unindexed.push(...page);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!;
    }
    const pending: IndexSnapshot['pending'] = [];
    for (let afterSeq = 0; ;) {
      const page = await this.store.listPendingGrams(afterSeq, PAGE);
      // Copied: a driver's buffer may be a view of a larger one, which a thread would be sent whole.
      for (const p of page) pending.push({ sha256: p.sha256, grams: new Uint8Array(p.grams) });
      if (page.length < PAGE) break;
      afterSeq = page[page.length - 1]!.seq;
    }
    const segments: IndexSnapshot['segments'] = [];
    for (const s of await this.store.listIndexSegments()) {
      const path = await this.blobs.localPath(s.blob);
      if (!path) throw new ContentIndexUnusableError(`segment ${s.blob} is missing from the blob store`);
      segments.push({ blob: s.blob, path });
    }
    return { unindexed, pending, segments };
  }

  close(): void {
    this.readers.close();
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
