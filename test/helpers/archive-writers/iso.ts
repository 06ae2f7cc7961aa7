// ISO 9660 (ECMA-119), the smallest valid image: 2048-byte sectors; 0-15 system area (zeros);
// 16 the primary volume descriptor; 17 the set terminator; 18 and 19 the L (little-endian) and
// M (big-endian) path tables, each holding the root alone; 20.. the root directory ("." and ".."
// then the files, sorted, no record crossing a sector); then each file's data from a sector of
// its own. Numbers in "both-endian" fields are written little-endian then big-endian.
import { TIME, bytes, entries, pad, type Files } from './common.js';

const SECTOR = 2048;

function both16(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16LE(n, 0);
  b.writeUInt16BE(n, 2);
  return b;
}
function both32(n: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32LE(n, 0);
  b.writeUInt32BE(n, 4);
  return b;
}

/** A directory record (ECMA-119 9.1); `id` is the file identifier's bytes. */
function isoDirRecord(id: Buffer, extent: number, size: number, dir: boolean): Buffer {
  const d = new Date(TIME * 1000);
  const len = 33 + id.length + (id.length % 2 === 0 ? 1 : 0);
  const r = Buffer.alloc(len);
  r[0] = len;
  both32(extent).copy(r, 2);
  both32(size).copy(r, 10);
  Buffer.from([d.getUTCFullYear() - 1900, d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), 0]).copy(r, 18);
  r[25] = dir ? 0x02 : 0x00;
  both16(1).copy(r, 28); // volume sequence number
  r[32] = id.length;
  id.copy(r, 33);
  return r;
}

/** A 17-byte descriptor date: "YYYYMMDDHHMMSScc" and a UTC offset of 0. */
function isoDescriptorDate(unix: number | null): Buffer {
  if (unix === null) return Buffer.concat([Buffer.from('0000000000000000', 'latin1'), Buffer.alloc(1)]);
  const s = new Date(unix * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14) + '00';
  return Buffer.concat([Buffer.from(s, 'latin1'), Buffer.alloc(1)]);
}

/**
 * A minimal ISO 9660 image with `files` in its root. Names are upper-cased and get ";1" (so pass
 * level-1 names like "HELLO.TXT"); 7-Zip and isoinfo show them without the version.
 */
export function makeIso(files: Files): Buffer {
  const list = entries(files)
    .map(([name, data]) => [name.toUpperCase().replace(/(;\d+)?$/, (v) => v || ';1'), data] as [string, Buffer])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const ROOT = 20;
  // Lay out the root directory's records (sector-aligned) to learn its size in sectors.
  const recordLengths = [34, 34, ...list.map(([n]) => 33 + Buffer.byteLength(n) + (Buffer.byteLength(n) % 2 === 0 ? 1 : 0))];
  let rootSectors = 1;
  let used = 0;
  for (const l of recordLengths) {
    if (used + l > SECTOR) {
      rootSectors++;
      used = 0;
    }
    used += l;
  }
  // File extents follow the root directory.
  let next = ROOT + rootSectors;
  const extents = list.map(([, data]) => {
    const at = next;
    next += Math.max(1, Math.ceil(data.length / SECTOR));
    return at;
  });
  const totalSectors = next;
  const rootSize = rootSectors * SECTOR;

  const root = Buffer.alloc(rootSize);
  let off = 0;
  const records = [
    isoDirRecord(Buffer.from([0]), ROOT, rootSize, true),
    isoDirRecord(Buffer.from([1]), ROOT, rootSize, true),
    ...list.map(([name, data], i) => isoDirRecord(Buffer.from(name, 'latin1'), extents[i]!, data.length, false)),
  ];
  for (const r of records) {
    if ((off % SECTOR) + r.length > SECTOR) off = Math.ceil(off / SECTOR) * SECTOR;
    r.copy(root, off);
    off += r.length;
  }

  const pvd = Buffer.alloc(SECTOR, 0);
  pvd[0] = 1;
  pvd.write('CD001', 1, 'latin1');
  pvd[6] = 1;
  pvd.fill(0x20, 8, 40); // system identifier
  pvd.write('TRAWL'.padEnd(32, ' '), 40, 'latin1'); // volume identifier
  both32(totalSectors).copy(pvd, 80);
  both16(1).copy(pvd, 120); // volume set size
  both16(1).copy(pvd, 124); // volume sequence number
  both16(SECTOR).copy(pvd, 128); // logical block size
  both32(10).copy(pvd, 132); // path table size: the root's 10-byte record
  pvd.writeUInt32LE(18, 140); // L path table
  pvd.writeUInt32BE(19, 148); // M path table
  isoDirRecord(Buffer.from([0]), ROOT, rootSize, true).copy(pvd, 156);
  pvd.fill(0x20, 190, 813); // volume set, publisher, preparer, application, file ids
  isoDescriptorDate(TIME).copy(pvd, 813); // creation
  isoDescriptorDate(TIME).copy(pvd, 830); // modification
  isoDescriptorDate(null).copy(pvd, 847); // expiration
  isoDescriptorDate(null).copy(pvd, 864); // effective
  pvd[881] = 1; // file structure version

  const terminator = Buffer.alloc(SECTOR);
  terminator[0] = 255;
  terminator.write('CD001', 1, 'latin1');
  terminator[6] = 1;

  // Path table record: id length, extended attribute length, extent, parent number, id, pad.
  const lPath = Buffer.alloc(SECTOR);
  lPath[0] = 1;
  lPath.writeUInt32LE(ROOT, 2);
  lPath.writeUInt16LE(1, 6);
  const mPath = Buffer.alloc(SECTOR);
  mPath[0] = 1;
  mPath.writeUInt32BE(ROOT, 2);
  mPath.writeUInt16BE(1, 6);

  const image = Buffer.alloc(totalSectors * SECTOR);
  pvd.copy(image, 16 * SECTOR);
  terminator.copy(image, 17 * SECTOR);
  lPath.copy(image, 18 * SECTOR);
  mPath.copy(image, 19 * SECTOR);
  root.copy(image, ROOT * SECTOR);
  list.forEach(([, data], i) => data.copy(image, extents[i]! * SECTOR));
  return image;
}
