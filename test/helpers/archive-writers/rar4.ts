// RAR 4 (RAR 1.5-4.x, rarlab's technote.txt): blocks of [HEAD_CRC u16 = low half of the CRC32 of
// the header from HEAD_TYPE on][HEAD_TYPE u8][HEAD_FLAGS u16][HEAD_SIZE u16]..., little-endian.
// The marker block is the fixed 7 bytes "Rar!\x1a\x07\x00"; then the archive header (0x73), a
// file header (0x74, flag 0x8000: data follows) per file with its data, and the end block (0x7b).
// Paths use "\" as separator on every host OS in this format.
// A name that is not ASCII gets flag 0x0200: an ASCII name, a NUL, and the name in RAR's
// compressed UTF-16 (a high byte, then per 4 characters a flags byte and, with the 2-bit code 2
// throughout, each character's low and high byte).
import { crc32 } from 'node:zlib';
import { TIME, bytes, entries, dosDateTime, type Files } from './common.js';

function rar4Block(type: number, flags: number, fields: Buffer): Buffer {
  const h = Buffer.alloc(5);
  h[0] = type;
  h.writeUInt16LE(flags, 1);
  h.writeUInt16LE(7 + fields.length, 3);
  const body = Buffer.concat([h, fields]);
  const crc = Buffer.alloc(2);
  crc.writeUInt16LE(crc32(body) & 0xffff);
  return Buffer.concat([crc, body]);
}

function rar4UnicodeName(name: string): Buffer {
  const units = Buffer.from(name, 'utf16le');
  const out: number[] = [0]; // high byte (unused with code 2)
  for (let i = 0; i < units.length; i += 8) {
    out.push(0xaa); // four times code 2: two bytes per character
    for (let j = i; j < Math.min(i + 8, units.length); j++) out.push(units[j]!);
  }
  return Buffer.concat([Buffer.from(name.replace(/[^\x20-\x7e]/g, '_'), 'latin1'), Buffer.alloc(1), Buffer.from(out)]);
}

/** A RAR 4 archive of `files`, stored (method 0x30), Unix host. */
export function makeRar4(files: Files): Buffer {
  const parts = [Buffer.from('Rar!\x1a\x07\x00', 'latin1'), rar4Block(0x73, 0, Buffer.alloc(6) /* reserved */)];
  const { date, time } = dosDateTime(TIME);
  for (const [name, data] of entries(files)) {
    const path = name.replaceAll('/', '\\');
    const unicode = /[^\x20-\x7e]/.test(path);
    const nameBytes = unicode ? rar4UnicodeName(path) : Buffer.from(path, 'latin1');
    const f = Buffer.alloc(25);
    f.writeUInt32LE(data.length, 0); // PACK_SIZE
    f.writeUInt32LE(data.length, 4); // UNP_SIZE
    f[8] = 3; // HOST_OS: Unix
    f.writeUInt32LE(crc32(data), 9); // FILE_CRC
    f.writeUInt16LE(time, 13); // FTIME (DOS time, then date)
    f.writeUInt16LE(date, 15);
    f[17] = 20; // UNP_VER: 2.0 is enough to unpack stored data
    f[18] = 0x30; // METHOD: store
    f.writeUInt16LE(nameBytes.length, 19); // NAME_SIZE
    f.writeUInt32LE(0o100644, 21); // ATTR (Unix mode)
    parts.push(rar4Block(0x74, 0x8000 | (unicode ? 0x0200 : 0), Buffer.concat([f, nameBytes])), data);
  }
  parts.push(rar4Block(0x7b, 0x4000, Buffer.alloc(0)));
  return Buffer.concat(parts);
}
