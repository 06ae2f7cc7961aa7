// A segment: the trigram postings of a set of files, one immutable file in the blob store (named
// by its sha256 like any blob, so every store, cache and `trawl migrate` carries it unchanged).
// Files are numbered 0..n-1 in the segment (their ordinals); each trigram present lists the
// ordinals of the files holding it, ascending, as varint gaps (grams.ts).
//
// Layout, little-endian:
//   0    "TRWLIX02", u32 files, u32 grams present, u32 bytes of the bucket regions, 12 bytes zero
//   32   files x 32 bytes: each file's sha256, by ordinal
//   A    65,537 x u32: where each bucket's region starts in R (the next entry ends it). A bucket
//        holds the trigrams sharing their first two bytes.
//   R    per bucket with trigrams: a 32-byte bitmap of the third bytes present, then the length
//        in bytes of each present trigram's postings (varints, in third-byte order), then the
//        postings themselves, in the same order.
// A lookup reads the bucket table (256 KB, kept), then the bucket's bitmap and lengths (under a
// kilobyte) and the postings: two small reads, whatever the segment's size. The directory costs
// about a byte per present trigram: an offset table (5 bytes each) was 40% of a segment.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { forEachAscending, GRAM_SPACE, varintLength, writeVarint } from './grams.js';

/** A segment's bytes are not a segment of this format (another version, truncated, corrupt). */
export class SegmentFormatError extends Error {
  override name = 'SegmentFormatError';
}

const MAGIC = Buffer.from('TRWLIX02');
const HEADER = 32;
const BUCKETS = 1 << 16;
const BITMAP = 32;

/** Where the bucket table and the regions start, for `files` files. */
function layout(files: number) {
  const a = HEADER + files * 32;
  return { a, r: a + (BUCKETS + 1) * 4 };
}

const popcount8 = (x: number) => {
  x -= (x >>> 1) & 0x55;
  x = (x & 0x33) + ((x >>> 2) & 0x33);
  return (x + (x >>> 4)) & 0x0f;
};

/** Writes the tables around the postings: `present` ascending, `offsets` (into `postings`) one longer. */
function assemble(sha256s: readonly string[], present: Uint32Array, offsets: Uint32Array, postings: Uint8Array): Buffer {
  const grams = present.length;
  const { a, r } = layout(sha256s.length);
  // Sizes first: each non-empty bucket's bitmap, lengths and postings.
  let regions = 0;
  for (let i = 0; i < grams;) {
    const bucket = present[i]! >>> 8;
    regions += BITMAP;
    for (; i < grams && present[i]! >>> 8 === bucket; i++) {
      const len = offsets[i + 1]! - offsets[i]!;
      regions += varintLength(len) + len;
    }
  }
  if (r + regions > 0xffffffff) throw new RangeError('segment over 4 GiB');
  const out = Buffer.alloc(r + regions);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(sha256s.length, 8);
  out.writeUInt32LE(grams, 12);
  out.writeUInt32LE(regions, 16);
  sha256s.forEach((h, i) => out.write(h, HEADER + i * 32, 32, 'hex'));
  let at = 0; // within R
  let i = 0;
  for (let bucket = 0; bucket < BUCKETS; bucket++) {
    out.writeUInt32LE(at, a + bucket * 4);
    if (i >= grams || present[i]! >>> 8 !== bucket) continue;
    const first = i;
    while (i < grams && present[i]! >>> 8 === bucket) i++;
    const base = r + at;
    for (let k = first; k < i; k++) {
      const third = present[k]! & 0xff;
      out[base + (third >>> 3)] = out[base + (third >>> 3)]! | (1 << (third & 7));
    }
    let w = base + BITMAP;
    for (let k = first; k < i; k++) w = writeVarint(out, w, offsets[k + 1]! - offsets[k]!);
    out.set(postings.subarray(offsets[first]!, offsets[i]!), w);
    at = w + (offsets[i]! - offsets[first]!) - r;
  }
  out.writeUInt32LE(at, a + BUCKETS * 4);
  return out;
}

/** Reads varints from `buf` at `at`: `count` of them. */
function readLengths(buf: Uint8Array, at: number, count: number): { lengths: number[]; end: number } {
  const lengths: number[] = [];
  for (let k = 0; k < count; k++) {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[at++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    lengths.push(v);
  }
  return { lengths, end: at };
}

/** The present third bytes of a bucket's bitmap, ascending. */
function thirds(bitmap: Uint8Array): number[] {
  const out: number[] = [];
  for (let byte = 0; byte < BITMAP; byte++) {
    const bits = bitmap[byte]!;
    if (bits) for (let b = 0; b < 8; b++) if (bits & (1 << b)) out.push((byte << 3) | b);
  }
  return out;
}

/** A file to index: its sha256 and its trigrams as grams.ts encodes them. */
export interface IndexedFile {
  sha256: string;
  grams: Uint8Array;
}

/**
 * A segment of `files`, in that order. Every (trigram, file) pair is listed, then sorted by
 * trigram with two stable 12-bit radix passes (files stay ascending within a trigram), and the
 * postings are written in one pass: time and memory in proportion to the pairs. Tables indexed by
 * the trigram (2^24 entries, 128 MB to fill and walk whatever the input) made each upkeep of a few
 * hundred small files cost a third of small-file intake.
 */
export function buildSegment(files: readonly IndexedFile[]): Buffer {
  let pairs = 0;
  for (const f of files) for (const b of f.grams) if ((b & 0x80) === 0) pairs++;
  let keys = new Uint32Array(pairs);
  let vals = new Uint32Array(pairs);
  let n = 0;
  for (let o = 0; o < files.length; o++) {
    forEachAscending(files[o]!.grams, (g) => {
      keys[n] = g;
      vals[n++] = o;
    });
  }
  let keys2 = new Uint32Array(pairs);
  let vals2 = new Uint32Array(pairs);
  const counts = new Uint32Array(1 << 12);
  for (const shift of [0, 12]) {
    counts.fill(0);
    for (let i = 0; i < pairs; i++) counts[(keys[i]! >>> shift) & 0xfff]!++;
    let sum = 0;
    for (let d = 0; d < counts.length; d++) {
      const c = counts[d]!;
      counts[d] = sum;
      sum += c;
    }
    for (let i = 0; i < pairs; i++) {
      const at = counts[(keys[i]! >>> shift) & 0xfff]!++;
      keys2[at] = keys[i]!;
      vals2[at] = vals[i]!;
    }
    [keys, keys2] = [keys2, keys];
    [vals, vals2] = [vals2, vals];
  }
  let grams = 0;
  let size = 0;
  for (let i = 0; i < pairs; i++) {
    const first = i === 0 || keys[i] !== keys[i - 1];
    if (first) grams++;
    size += varintLength(first ? vals[i]! + 1 : vals[i]! - vals[i - 1]!);
  }
  const present = new Uint32Array(grams);
  const offsets = new Uint32Array(grams + 1);
  const postings = new Uint8Array(size);
  let at = 0;
  let k = -1;
  for (let i = 0; i < pairs; i++) {
    const first = i === 0 || keys[i] !== keys[i - 1];
    if (first) {
      present[++k] = keys[i]!;
      offsets[k] = at;
    }
    at = writeVarint(postings, at, first ? vals[i]! + 1 : vals[i]! - vals[i - 1]!);
  }
  offsets[grams] = at;
  return assemble(files.map((f) => f.sha256), present, offsets, postings);
}

/** A segment held in memory (for merging): its present trigrams and their postings, in order. */
class SegmentBytes {
  readonly files: number;
  readonly grams: Uint32Array;
  /** Start and end in `buf` of each present trigram's postings. */
  private readonly spans: Uint32Array;
  constructor(readonly buf: Buffer) {
    if (!buf.subarray(0, 8).equals(MAGIC)) throw new SegmentFormatError('not a content index segment of this format');
    this.files = buf.readUInt32LE(8);
    const count = buf.readUInt32LE(12);
    this.grams = new Uint32Array(count);
    this.spans = new Uint32Array(count * 2);
    const { a, r } = layout(this.files);
    let k = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      const start = buf.readUInt32LE(a + bucket * 4);
      if (start === buf.readUInt32LE(a + (bucket + 1) * 4)) continue;
      const present = thirds(buf.subarray(r + start, r + start + BITMAP));
      const { lengths, end } = readLengths(buf, r + start + BITMAP, present.length);
      let at = end;
      present.forEach((third, j) => {
        this.grams[k] = (bucket << 8) | third;
        this.spans[2 * k] = at;
        this.spans[2 * k + 1] = at += lengths[j]!;
        k++;
      });
    }
  }
  sha256(o: number): string {
    return this.buf.toString('hex', HEADER + o * 32, HEADER + o * 32 + 32);
  }
  postings(i: number): Uint8Array {
    return this.buf.subarray(this.spans[2 * i]!, this.spans[2 * i + 1]!);
  }
}

/**
 * One segment of the files of `segments`, in that order (ordinals of the second follow the
 * first's). Trigrams are walked ascending across the inputs, so postings are written in order.
 */
export function mergeSegments(segments: readonly Buffer[]): Buffer {
  const parts = segments.map((b) => new SegmentBytes(b));
  const base: number[] = [];
  let files = 0;
  for (const p of parts) {
    base.push(files);
    files += p.files;
  }
  const sha256s: string[] = [];
  for (const p of parts) for (let o = 0; o < p.files; o++) sha256s.push(p.sha256(o));
  const gramLists = parts.map((p) => p.grams);
  let capacity = parts.reduce((n, p) => n + p.buf.length + 5 * p.grams.length, 0);
  let postings = new Uint8Array(capacity);
  const present: number[] = [];
  const offsets: number[] = [];
  const next = parts.map(() => 0);
  let at = 0;
  for (;;) {
    let g = GRAM_SPACE;
    for (let s = 0; s < parts.length; s++) if (next[s]! < gramLists[s]!.length) g = Math.min(g, gramLists[s]![next[s]!]!);
    if (g === GRAM_SPACE) break;
    present.push(g);
    offsets.push(at);
    let last = -1;
    for (let s = 0; s < parts.length; s++) {
      if (next[s]! >= gramLists[s]!.length || gramLists[s]![next[s]!] !== g) continue;
      const list = parts[s]!.postings(next[s]!++);
      if (at + list.length + 5 > capacity) {
        capacity *= 2;
        const bigger = new Uint8Array(capacity);
        bigger.set(postings.subarray(0, at));
        postings = bigger;
      }
      forEachAscending(list, (o) => {
        const ord = base[s]! + o;
        at = writeVarint(postings, at, ord - last);
        last = ord;
      });
    }
  }
  offsets.push(at);
  return assemble(sha256s, Uint32Array.from(present), Uint32Array.from(offsets), postings.subarray(0, at));
}

/**
 * Why the segment file at `path` is not one of this format of `bytes` bytes (another version, cut
 * short, its header overwritten), or null. Cheap (a stat and 8 bytes): the upkeep checks every
 * live segment this way on each run.
 */
export function segmentProblem(path: string, bytes: number): string | null {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== bytes) return `${size} bytes where ${bytes} were written`;
    const magic = Buffer.alloc(MAGIC.length);
    readSync(fd, magic, 0, MAGIC.length, 0);
    return magic.equals(MAGIC) ? null : `not a content index segment of this format (${JSON.stringify(magic.toString('latin1'))})`;
  } finally {
    closeSync(fd);
  }
}

/** A segment file read in place: the bucket table is kept, the rest read per lookup. */
export class SegmentReader {
  readonly files: number;
  readonly grams: number;
  private readonly r: number;
  private readonly buckets: Uint32Array;
  private shas: Buffer | null = null;

  private constructor(private readonly fd: number, header: Buffer) {
    if (!header.subarray(0, 8).equals(MAGIC)) throw new SegmentFormatError('not a content index segment of this format');
    this.files = header.readUInt32LE(8);
    this.grams = header.readUInt32LE(12);
    const { a, r } = layout(this.files);
    this.r = r;
    const table = this.read(a, (BUCKETS + 1) * 4);
    this.buckets = new Uint32Array(table.buffer, table.byteOffset, BUCKETS + 1);
  }

  static open(path: string): SegmentReader {
    const fd = openSync(path, 'r');
    try {
      if (fstatSync(fd).size < HEADER) throw new SegmentFormatError(`${path}: not a content index segment (too short)`);
      const header = Buffer.alloc(HEADER);
      readSync(fd, header, 0, HEADER, 0);
      return new SegmentReader(fd, header);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  private read(position: number, length: number): Buffer {
    const out = Buffer.alloc(length);
    let n = 0;
    while (n < length) {
      const got = readSync(this.fd, out, n, length - n, position + n);
      if (got === 0) throw new SegmentFormatError('content index segment is truncated');
      n += got;
    }
    return out;
  }

  /** The ordinals of the files holding trigram `g`, ascending (empty when none does). */
  postings(g: number): Uint32Array {
    const bucket = g >>> 8;
    const start = this.buckets[bucket]!;
    const end = this.buckets[bucket + 1]!;
    if (start === end) return new Uint32Array(0);
    const third = g & 0xff;
    // The bitmap and up to 256 lengths of 5 bytes at most: one read covers them.
    const head = this.read(this.r + start, Math.min(end - start, BITMAP + 256 * 5));
    if (!(head[third >>> 3]! & (1 << (third & 7)))) return new Uint32Array(0);
    let before = 0;
    for (let byte = 0; byte < third >>> 3; byte++) before += popcount8(head[byte]!);
    before += popcount8(head[third >>> 3]! & ((1 << (third & 7)) - 1));
    let count = before + 1;
    for (let byte = (third >>> 3) + 1; byte < BITMAP; byte++) count += popcount8(head[byte]!);
    count += popcount8(head[third >>> 3]! >>> ((third & 7) + 1));
    const { lengths, end: lengthsEnd } = readLengths(head, BITMAP, count);
    let offset = lengthsEnd;
    for (let k = 0; k < before; k++) offset += lengths[k]!;
    const list = this.read(this.r + start + offset, lengths[before]!);
    const out: number[] = [];
    forEachAscending(list, (o) => out.push(o));
    return Uint32Array.from(out);
  }

  sha256(o: number): string {
    this.shas ??= this.read(HEADER, this.files * 32);
    return this.shas.toString('hex', o * 32, o * 32 + 32);
  }

  close(): void {
    closeSync(this.fd);
  }
}
