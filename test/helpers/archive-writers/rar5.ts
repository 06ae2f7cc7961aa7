// RAR 5 (rarlab's "RAR 5.0 archive format"): signature "Rar!\x1a\x07\x01\x00", then blocks of
// [CRC32 of what follows it up to the data area][vint header size][vint type][vint flags]
// [vint extra size if flag 1][vint data size if flag 2][type-specific fields][data]. vints are
// little-endian groups of 7 bits, the high bit set on every byte but the last.
import { crc32 } from 'node:zlib';
import { TIME, entries, type Files } from './common.js';

function vint(n: number): Buffer {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return Buffer.from(out);
}
function u32le(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

function rar5Block(type: number, fields: Buffer, data?: Buffer): Buffer {
  const flags = data ? 0x0002 : 0;
  const body = Buffer.concat([vint(type), vint(flags), data ? vint(data.length) : Buffer.alloc(0), fields]);
  const sized = Buffer.concat([vint(body.length), body]);
  return Buffer.concat([u32le(crc32(sized)), sized, data ?? Buffer.alloc(0)]);
}

/** A RAR 5 archive of `files`, stored ("store" method, no solid, no encryption), Unix host. */
export function makeRar5(files: Files): Buffer {
  const parts = [Buffer.from('Rar!\x1a\x07\x01\x00', 'latin1'), rar5Block(1, vint(0) /* archive flags */)];
  for (const [name, data] of entries(files)) {
    const nameBytes = Buffer.from(name, 'utf8');
    const fields = Buffer.concat([
      vint(0x0002 | 0x0004), // file flags: Unix mtime and data CRC32 present
      vint(data.length), // unpacked size
      vint(0o100644), // attributes (Unix mode)
      u32le(TIME), // mtime
      u32le(crc32(data)), // data CRC32
      vint(0), // compression: version 0, not solid, method 0 (store), smallest dictionary
      vint(1), // host OS: Unix
      vint(nameBytes.length),
      nameBytes,
    ]);
    parts.push(rar5Block(2, fields, data));
  }
  parts.push(rar5Block(5, vint(0) /* end of archive flags */));
  return Buffer.concat(parts);
}
