// Zstandard (RFC 8878): one frame. Magic 0xFD2FB528 (LE); frame header descriptor with
// Single_Segment set (no window descriptor: the window is the content size) and the content size
// in the smallest field that holds it; then blocks, each with a 3-byte header (bit 0 last block,
// bits 1-2 type 0 = raw, bits 3-23 size) and at most 128 KiB of data stored as is. No checksum.
import { bytes } from './common.js';

const ZSTD_BLOCK = 128 * 1024;

/** One zstd frame holding `data` in raw (uncompressed) blocks, with its content size. */
export function makeZstd(data: Buffer): Buffer {
  const size = data.length;
  // Frame_Content_Size_flag: 0 -> 1 byte (single segment), 1 -> 2 bytes (value - 256), 2 -> 4, 3 -> 8.
  let flag: number;
  let fcs: Buffer;
  if (size < 256) {
    flag = 0;
    fcs = Buffer.from([size]);
  } else if (size < 65536 + 256) {
    flag = 1;
    fcs = Buffer.alloc(2);
    fcs.writeUInt16LE(size - 256);
  } else if (size < 2 ** 32) {
    flag = 2;
    fcs = Buffer.alloc(4);
    fcs.writeUInt32LE(size);
  } else {
    flag = 3;
    fcs = Buffer.alloc(8);
    fcs.writeBigUInt64LE(BigInt(size));
  }
  const magic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
  const descriptor = Buffer.from([(flag << 6) | 0x20]);
  const blocks: Buffer[] = [];
  let at = 0;
  do {
    const n = Math.min(ZSTD_BLOCK, size - at);
    const last = at + n >= size ? 1 : 0;
    const h = (n << 3) | (0 << 1) | last;
    blocks.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), data.subarray(at, at + n));
    at += n;
  } while (at < size);
  return Buffer.concat([magic, descriptor, fcs, ...blocks]);
}
