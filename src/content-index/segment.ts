// A segment: the trigram postings of a set of files, one immutable file in the blob store (named
// by its sha256 like any blob, so every store, cache and `trawl migrate` carries it unchanged).
// Files are numbered 0..n-1 in the segment (their ordinals); each trigram present lists the
// ordinals of the files holding it, ascending, as varint gaps (grams.ts).
//
// Layout, little-endian:
//   0    "TRWLIX01", u32 files, u32 grams present, u32 postings bytes, 12 bytes zero
//   32   files x 32 bytes: each file's sha256, by ordinal
//   A    65,537 x u32: per first two bytes of a trigram (its bucket), the index of its first
//        present trigram; the next entry ends it
//   B    grams x u8: each present trigram's third byte, ascending within its bucket
//   C    (grams + 1) x u32, 4-aligned: where each present trigram's postings start (and end)
//   D    the postings
// A lookup reads the bucket table (256 KB, kept), then a bucket's third bytes (<= 256), two
// offsets and the postings: three small reads, whatever the segment's size.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { forEachAscending, GRAM_SPACE, varintLength, writeVarint } from './grams.js';

const MAGIC = Buffer.from('TRWLIX01');
const HEADER = 32;
const BUCKETS = 1 << 16;

/** Layout positions of a segment of `files` files and `grams` present trigrams. */
function layout(files: number, grams: number) {
  const a = HEADER + files * 32;
  const b = a + (BUCKETS + 1) * 4;
  const c = b + grams + ((4 - (grams % 4)) % 4);
  const d = c + (grams + 1) * 4;
  return { a, b, c, d };
}

/** Writes the tables around `postings`: `present` ascending, `offsets` one longer. */
function assemble(sha256s: readonly string[], present: Uint32Array, offsets: Uint32Array, postings: Uint8Array): Buffer {
  const grams = present.length;
  const { a, b, c, d } = layout(sha256s.length, grams);
  if (d + postings.length > 0xffffffff) throw new RangeError('segment over 4 GiB');
  const out = Buffer.alloc(d + postings.length);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(sha256s.length, 8);
  out.writeUInt32LE(grams, 12);
  out.writeUInt32LE(postings.length, 16);
  sha256s.forEach((s, i) => out.write(s, HEADER + i * 32, 32, 'hex'));
  let k = 0;
  for (let bucket = 0; bucket <= BUCKETS; bucket++) {
    while (k < grams && present[k]! >>> 8 < bucket) k++;
    out.writeUInt32LE(k, a + bucket * 4);
  }
  for (let i = 0; i < grams; i++) out[b + i] = present[i]! & 0xff;
  Buffer.from(offsets.buffer, offsets.byteOffset, offsets.byteLength).copy(out, c);
  out.set(postings, d);
  return out;
}

/** A file to index: its sha256 and its trigrams as grams.ts encodes them. */
export interface IndexedFile {
  sha256: string;
  grams: Uint8Array;
}

/**
 * A segment of `files`, in that order. Two passes over their trigrams: the first sizes each
 * trigram's postings, the second writes them in place. Takes 128 MB of tables whatever the input.
 */
export function buildSegment(files: readonly IndexedFile[]): Buffer {
  const cursor = new Uint32Array(GRAM_SPACE);
  const last = new Int32Array(GRAM_SPACE).fill(-1);
  for (let o = 0; o < files.length; o++) {
    forEachAscending(files[o]!.grams, (g) => {
      cursor[g] = cursor[g]! + varintLength(o - last[g]!);
      last[g] = o;
    });
  }
  let grams = 0;
  for (let g = 0; g < GRAM_SPACE; g++) if (cursor[g]) grams++;
  const present = new Uint32Array(grams);
  const offsets = new Uint32Array(grams + 1);
  let total = 0;
  let k = 0;
  for (let g = 0; g < GRAM_SPACE; g++) {
    const size = cursor[g]!;
    if (!size) continue;
    present[k] = g;
    offsets[k++] = total;
    cursor[g] = total;
    total += size;
  }
  offsets[grams] = total;
  const postings = new Uint8Array(total);
  last.fill(-1);
  for (let o = 0; o < files.length; o++) {
    forEachAscending(files[o]!.grams, (g) => {
      cursor[g] = writeVarint(postings, cursor[g]!, o - last[g]!);
      last[g] = o;
    });
  }
  return assemble(files.map((f) => f.sha256), present, offsets, postings);
}

/** A segment held in memory (for merging). */
class SegmentBytes {
  readonly files: number;
  readonly grams: number;
  private readonly at: ReturnType<typeof layout>;
  constructor(readonly buf: Buffer) {
    if (!buf.subarray(0, 8).equals(MAGIC)) throw new Error('not a content index segment');
    this.files = buf.readUInt32LE(8);
    this.grams = buf.readUInt32LE(12);
    this.at = layout(this.files, this.grams);
  }
  sha256(o: number): string {
    return this.buf.toString('hex', HEADER + o * 32, HEADER + o * 32 + 32);
  }
  postings(i: number): Uint8Array {
    const start = this.buf.readUInt32LE(this.at.c + i * 4);
    const end = this.buf.readUInt32LE(this.at.c + i * 4 + 4);
    return this.buf.subarray(this.at.d + start, this.at.d + end);
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
  // Each input's present trigrams, decoded once, ascending.
  const gramLists = parts.map((p) => {
    const out = new Uint32Array(p.grams);
    const { a, b } = layout(p.files, p.grams);
    let bucket = 0;
    for (let i = 0; i < p.grams; i++) {
      while (p.buf.readUInt32LE(a + (bucket + 1) * 4) <= i) bucket++;
      out[i] = (bucket << 8) | p.buf[b + i]!;
    }
    return out;
  });
  let capacity = parts.reduce((n, p) => n + p.buf.readUInt32LE(16) + p.grams * 5, 0);
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

/** A segment file read in place: the bucket table is kept, the rest read per lookup. */
export class SegmentReader {
  readonly files: number;
  readonly grams: number;
  private readonly at: ReturnType<typeof layout>;
  private readonly buckets: Uint32Array;
  private shas: Buffer | null = null;

  private constructor(private readonly fd: number, header: Buffer) {
    if (!header.subarray(0, 8).equals(MAGIC)) throw new Error('not a content index segment');
    this.files = header.readUInt32LE(8);
    this.grams = header.readUInt32LE(12);
    this.at = layout(this.files, this.grams);
    const table = this.read(this.at.a, (BUCKETS + 1) * 4);
    this.buckets = new Uint32Array(table.buffer, table.byteOffset, BUCKETS + 1);
  }

  static open(path: string): SegmentReader {
    const fd = openSync(path, 'r');
    try {
      if (fstatSync(fd).size < HEADER) throw new Error(`${path}: not a content index segment`);
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
      if (got === 0) throw new Error('content index segment is truncated');
      n += got;
    }
    return out;
  }

  /** The ordinals of the files holding trigram `g`, ascending (empty when none does). */
  postings(g: number): Uint32Array {
    const bucket = g >>> 8;
    const lo = this.buckets[bucket]!;
    const hi = this.buckets[bucket + 1]!;
    if (lo === hi) return new Uint32Array(0);
    const thirds = this.read(this.at.b + lo, hi - lo);
    const k = thirds.indexOf(g & 0xff);
    if (k < 0) return new Uint32Array(0);
    const bounds = this.read(this.at.c + (lo + k) * 4, 8);
    const start = bounds.readUInt32LE(0);
    const list = this.read(this.at.d + start, bounds.readUInt32LE(4) - start);
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
