// The index's unit: a trigram, three consecutive bytes read as a 24-bit number. A file is indexed
// as the set of trigrams it contains (each once, whatever the count), kept sorted and written as
// gaps in 7-bit varints: a file with few distinct trigrams (text, code) costs 2-3 bytes each, a
// dense one (compressed data) about one. Trigrams, as mquery's gram3: every string of three bytes
// or more yields some, and 2^24 of them fit a table indexed by the trigram itself.

export const GRAM_SPACE = 1 << 24;

/**
 * One bit per trigram, cleared after each file: module state, so one per thread. A list of the
 * trigrams seen clears it in time proportional to them, not to the 2 MB.
 */
const seen = new Uint8Array(GRAM_SPACE >>> 3);
let found = new Uint32Array(1 << 12);

/** Above this many distinct trigrams, reading them back off the bitmap beats sorting the list. */
const SCAN_BITMAP_ABOVE = 1 << 17;

/** The distinct trigrams of `data`, ascending. */
export function distinctGrams(data: Uint8Array): Uint32Array {
  const n = data.length;
  if (n < 3) return new Uint32Array(0);
  let count = 0;
  let g = (data[0]! << 8) | data[1]!;
  for (let i = 2; i < n; i++) {
    g = ((g << 8) | data[i]!) & 0xffffff;
    const byte = g >>> 3;
    const bit = 1 << (g & 7);
    if ((seen[byte]! & bit) === 0) {
      seen[byte] = seen[byte]! | bit;
      if (count === found.length) {
        const bigger = new Uint32Array(found.length * 2);
        bigger.set(found);
        found = bigger;
      }
      found[count++] = g;
    }
  }
  if (count > SCAN_BITMAP_ABOVE) {
    const out = new Uint32Array(count);
    let k = 0;
    for (let byte = 0; byte < seen.length; byte++) {
      const bits = seen[byte]!;
      if (bits === 0) continue;
      for (let b = 0; b < 8; b++) if (bits & (1 << b)) out[k++] = (byte << 3) | b;
    }
    seen.fill(0);
    return out;
  }
  const out = found.slice(0, count).sort();
  for (let i = 0; i < count; i++) seen[out[i]! >>> 3] = 0;
  return out;
}

/** Bytes a varint of `v` (>= 0, < 2^32) takes. */
export function varintLength(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/** Writes `v` as a varint at `at`; returns the position after it. */
export function writeVarint(out: Uint8Array, at: number, v: number): number {
  while (v >= 0x80) {
    out[at++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[at++] = v;
  return at;
}

/** Ascending distinct numbers as gaps (the first from -1) in varints. */
export function encodeAscending(values: ArrayLike<number>): Buffer {
  let size = 0;
  let prev = -1;
  for (let i = 0; i < values.length; i++) {
    size += varintLength(values[i]! - prev);
    prev = values[i]!;
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  prev = -1;
  for (let i = 0; i < values.length; i++) {
    at = writeVarint(out, at, values[i]! - prev);
    prev = values[i]!;
  }
  return out;
}

/** Calls `each` with every number of an encodeAscending() run, in order. */
export function forEachAscending(data: Uint8Array, each: (v: number) => void): void {
  let prev = -1;
  let at = 0;
  while (at < data.length) {
    let v = 0;
    let shift = 0;
    let b: number;
    do {
      b = data[at++]!;
      v += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    prev += v;
    each(prev);
  }
}

/** An encodeAscending() run decoded. */
export function decodeAscending(data: Uint8Array): Uint32Array {
  let count = 0;
  for (let i = 0; i < data.length; i++) if ((data[i]! & 0x80) === 0) count++;
  const out = new Uint32Array(count);
  let k = 0;
  forEachAscending(data, (v) => {
    out[k++] = v;
  });
  return out;
}
