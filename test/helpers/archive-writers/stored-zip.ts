// Zip written by hand, stored (method 0), for what 7-Zip does not write: names as raw bytes
// without the UTF-8 flag (an old DOS archiver's CP437), and ZIP64 records on a small archive.
// Local header (30 bytes + name + extra), data, central directory (46 bytes + name + extra each),
// [ZIP64 end of central directory record (56 bytes) and locator (20 bytes)], end record (22).
import { crc32 } from 'node:zlib';
import { TIME, bytes, entries, dosDateTime } from './common.js';

export interface RawZipEntry {
  /** Bytes as stored; a string is written as UTF-8 with the UTF-8 flag (bit 11) set. */
  name: Buffer | string;
  content: Buffer | string;
}

/**
 * A stored zip. With `zip64`, every size and offset in the headers is 0xFFFFFFFF and the real
 * value is in a ZIP64 extra field (0x0001), and the end of the central directory goes through a
 * ZIP64 record, as zip writers do for archives over 4 GiB or 65,535 entries.
 */
export function makeStoredZip(list: readonly RawZipEntry[], opts: { zip64?: boolean } = {}): Buffer {
  const z64 = opts.zip64 === true;
  const { date, time } = dosDateTime(TIME);
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of list) {
    const name = typeof e.name === 'string' ? Buffer.from(e.name, 'utf8') : e.name;
    const flags = typeof e.name === 'string' ? 0x0800 : 0;
    const data = bytes(e.content);
    const crc = crc32(data);
    const version = z64 ? 45 : 20;
    const localExtra = z64 ? Buffer.alloc(20) : Buffer.alloc(0);
    if (z64) {
      localExtra.writeUInt16LE(0x0001, 0);
      localExtra.writeUInt16LE(16, 2);
      localExtra.writeBigUInt64LE(BigInt(data.length), 4); // original size
      localExtra.writeBigUInt64LE(BigInt(data.length), 12); // compressed size
    }
    const fields = { version, flags, time, date, crc, size: z64 ? 0xffffffff : data.length, nameLength: name.length };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    writeEntryFields(local, 4, { ...fields, extraLength: localExtra.length });
    const centralExtra = z64 ? Buffer.alloc(28) : Buffer.alloc(0);
    if (z64) {
      centralExtra.writeUInt16LE(0x0001, 0);
      centralExtra.writeUInt16LE(24, 2);
      centralExtra.writeBigUInt64LE(BigInt(data.length), 4);
      centralExtra.writeBigUInt64LE(BigInt(data.length), 12);
      centralExtra.writeBigUInt64LE(BigInt(offset), 20); // local header offset
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(version, 4); // made by (MS-DOS)
    writeEntryFields(central, 6, { ...fields, extraLength: centralExtra.length });
    central.writeUInt32LE(0x20, 38); // external attributes: archive
    central.writeUInt32LE(z64 ? 0xffffffff : offset, 42);
    const l = Buffer.concat([local, name, localExtra, data]);
    locals.push(l);
    centrals.push(Buffer.concat([central, name, centralExtra]));
    offset += l.length;
  }
  const cd = Buffer.concat(centrals);
  const tail: Buffer[] = [];
  if (z64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4); // size of the rest of the record
    rec.writeUInt16LE(45, 12);
    rec.writeUInt16LE(45, 14);
    rec.writeBigUInt64LE(BigInt(list.length), 24); // entries on this disk
    rec.writeBigUInt64LE(BigInt(list.length), 32); // entries
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const locator = Buffer.alloc(20);
    locator.writeUInt32LE(0x07064b50, 0);
    locator.writeBigUInt64LE(BigInt(offset + cd.length), 8); // where the ZIP64 record is
    locator.writeUInt32LE(1, 16); // disks
    tail.push(rec, locator);
  }
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(z64 ? 0xffff : list.length, 8);
  end.writeUInt16LE(z64 ? 0xffff : list.length, 10);
  end.writeUInt32LE(z64 ? 0xffffffff : cd.length, 12);
  end.writeUInt32LE(z64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, cd, ...tail, end]);
}

/**
 * The 26 bytes a local header (at 4) and a central directory header (at 6) share: version needed,
 * flags, method (stored), time, date, crc-32, compressed and original size, name and extra lengths.
 */
function writeEntryFields(h: Buffer, at: number, f: { version: number; flags: number; time: number; date: number; crc: number; size: number; nameLength: number; extraLength: number }): void {
  h.writeUInt16LE(f.version, at);
  h.writeUInt16LE(f.flags, at + 2);
  h.writeUInt16LE(0, at + 4); // stored
  h.writeUInt16LE(f.time, at + 6);
  h.writeUInt16LE(f.date, at + 8);
  h.writeUInt32LE(f.crc, at + 10);
  h.writeUInt32LE(f.size, at + 14);
  h.writeUInt32LE(f.size, at + 18);
  h.writeUInt16LE(f.nameLength, at + 22);
  h.writeUInt16LE(f.extraLength, at + 24);
}
