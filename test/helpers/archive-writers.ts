// Byte-level writers for container formats 7-Zip cannot write (archives.ts covers those it can),
// so that tests make their inputs instead of storing them. Each is written from the format's
// specification and stores its files uncompressed where the format allows. Besides 7-Zip 24.09
// (the tests), each output was read back by other tools, from Debian's packages: ar by GNU ar;
// deb by dpkg-deb; cpio by GNU cpio and bsdtar; zstd by zstd; cab by cabextract; ISO by isoinfo
// and bsdtar; RAR 4 and 5 by unar/lsar and bsdtar; RPM by rpm (-qpl, -K) and rpm2cpio; OLE by
// olefile, libgsf and p7zip 16.02; the zips by unzip, bsdtar and p7zip; e-mail by Python's email.
//
// Files are given as `{ path: content }`; paths use `/` and are converted where a format wants
// otherwise. Times are fixed (TIME) so that outputs are reproducible.
import { createHash } from 'node:crypto';
import { crc32, gzipSync } from 'node:zlib';
import CFB from 'cfb';
import { makeTar } from './archives.js';

/** Path -> content; as a list of pairs, the same name may come twice. */
export type Files = Record<string, Buffer | string> | readonly (readonly [string, Buffer | string])[];

/** The timestamp every writer stores: 2023-11-14 22:13:20 UTC. */
export const TIME = 1_700_000_000;

const bytes = (c: Buffer | string): Buffer => (typeof c === 'string' ? Buffer.from(c) : c);
const entries = (files: Files): [string, Buffer][] => (Array.isArray(files) ? files : Object.entries(files)).map(([p, c]) => [p, bytes(c)]);
/** Zeros that pad `length` up to a multiple of `unit`. */
const pad = (length: number, unit: number): Buffer => Buffer.alloc((unit - (length % unit)) % unit);

/** MS-DOS date (high 16 bits) and time (low 16 bits) of a UNIX time, in UTC. */
function dosDateTime(unix: number): { date: number; time: number } {
  const d = new Date(unix * 1000);
  const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
  const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
  return { date, time };
}

// ---------------------------------------------------------------------------------------------
// Unix ar (the common System V / GNU layout): "!<arch>\n", then per member a 60-byte text header
// (name/ 16, mtime 12, uid 6, gid 6, octal mode 8, size 10, "`\n") and the data, padded with "\n"
// to an even offset. GNU ends names with "/" so that names may hold spaces; longer names would
// need the "//" name table, which these tests do not use.

/** A Unix ar archive of `files` (names of at most 15 bytes, no folders). */
export function makeAr(files: Files): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n')];
  for (const [name, data] of entries(files)) {
    if (Buffer.byteLength(name) > 15 || name.includes('/')) throw new Error(`ar member name not supported: ${name}`);
    const field = (s: string | number, width: number) => String(s).padEnd(width, ' ');
    const header = field(`${name}/`, 16) + field(TIME, 12) + field(0, 6) + field(0, 6) + field('100644', 8) + field(data.length, 10) + '`\n';
    parts.push(Buffer.from(header, 'utf8'), data, data.length % 2 ? Buffer.from('\n') : Buffer.alloc(0));
  }
  return Buffer.concat(parts);
}

/**
 * A Debian package: an ar of debian-binary ("2.0\n"), control.tar.gz (a one-line-per-field
 * control file) and data.tar.gz holding `dataFiles` under "./".
 */
export function makeDeb(dataFiles: Files): Buffer {
  const control = 'Package: trawl-test\nVersion: 1.0\nArchitecture: all\nMaintainer: Trawl <trawl@example.invalid>\nDescription: test package\n';
  const controlTar = gzipSync(makeTar([{ name: './control', content: control, mtime: TIME }]));
  const dataTar = gzipSync(makeTar(entries(dataFiles).map(([name, content]) => ({ name: `./${name}`, content, mtime: TIME }))));
  return makeAr({ 'debian-binary': '2.0\n', 'control.tar.gz': controlTar, 'data.tar.gz': dataTar });
}

// ---------------------------------------------------------------------------------------------
// cpio "newc" (SVR4 without CRC): per entry "070701" and 13 fields of 8 hex digits (ino, mode,
// uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize with its
// NUL, check 0), the name and NUL padded to a multiple of 4 (counting the 110-byte header), then
// the data padded to 4. The archive ends with an entry named "TRAILER!!!".

function cpioEntry(ino: number, mode: number, name: string, data: Buffer): Buffer {
  const nameBytes = Buffer.concat([Buffer.from(name), Buffer.alloc(1)]);
  const fields = [ino, mode, 0, 0, 1, TIME, data.length, 0, 0, 0, 0, nameBytes.length, 0];
  const header = Buffer.from('070701' + fields.map((f) => f.toString(16).padStart(8, '0')).join(''), 'latin1');
  return Buffer.concat([header, nameBytes, pad(header.length + nameBytes.length, 4), data, pad(data.length, 4)]);
}

/** A newc cpio archive of regular files (folders are implied by the paths, as cpio -d makes them). */
export function makeCpio(files: Files): Buffer {
  const parts = entries(files).map(([name, data], i) => cpioEntry(i + 1, 0o100644, name, data));
  parts.push(cpioEntry(0, 0, 'TRAILER!!!', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Zstandard (RFC 8878): one frame. Magic 0xFD2FB528 (LE); frame header descriptor with
// Single_Segment set (no window descriptor: the window is the content size) and the content size
// in the smallest field that holds it; then blocks, each with a 3-byte header (bit 0 last block,
// bits 1-2 type 0 = raw, bits 3-23 size) and at most 128 KiB of data stored as is. No checksum.

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

// ---------------------------------------------------------------------------------------------
// Microsoft Cabinet ([MS-CAB]): CFHEADER (36 bytes), one CFFOLDER (8 bytes, no compression),
// a CFFILE per file (16 bytes + NUL-terminated name with "\" separators; attribute 0x80 marks a
// UTF-8 name), then CFDATA blocks (checksum, compressed and uncompressed sizes, data) of at most
// 32768 bytes cut from all files' data laid end to end. A checksum of 0 means "not computed".

const CAB_BLOCK = 32768;

/** A cabinet of `files`, stored uncompressed in one folder. */
export function makeCab(files: Files): Buffer {
  const list = entries(files);
  const { date, time } = dosDateTime(TIME);
  const cffiles: Buffer[] = [];
  let folderOffset = 0;
  for (const [name, data] of list) {
    const utf8 = /[^\x20-\x7e]/.test(name);
    const f = Buffer.alloc(16);
    f.writeUInt32LE(data.length, 0); // cbFile
    f.writeUInt32LE(folderOffset, 4); // uoffFolderStart
    f.writeUInt16LE(0, 8); // iFolder
    f.writeUInt16LE(date, 10);
    f.writeUInt16LE(time, 12);
    f.writeUInt16LE(0x20 | (utf8 ? 0x80 : 0), 14); // _A_ARCH, _A_NAME_IS_UTF
    cffiles.push(f, Buffer.from(name.replaceAll('/', '\\') + '\0', 'utf8'));
    folderOffset += data.length;
  }
  const all = Buffer.concat(list.map(([, d]) => d));
  const blocks: Buffer[] = [];
  const blockCount = Math.max(1, Math.ceil(all.length / CAB_BLOCK));
  for (let b = 0; b < blockCount; b++) {
    const chunk = all.subarray(b * CAB_BLOCK, (b + 1) * CAB_BLOCK);
    const h = Buffer.alloc(8);
    h.writeUInt32LE(0, 0); // csum: not computed
    h.writeUInt16LE(chunk.length, 4); // cbData
    h.writeUInt16LE(chunk.length, 6); // cbUncomp
    blocks.push(h, chunk);
  }
  const filesBytes = Buffer.concat(cffiles);
  const headerSize = 36;
  const folderSize = 8;
  const dataStart = headerSize + folderSize + filesBytes.length;
  const dataBytes = Buffer.concat(blocks);
  const header = Buffer.alloc(headerSize);
  header.write('MSCF', 0, 'latin1');
  header.writeUInt32LE(dataStart + dataBytes.length, 8); // cbCabinet
  header.writeUInt32LE(headerSize + folderSize, 16); // coffFiles
  header.writeUInt8(3, 24); // versionMinor
  header.writeUInt8(1, 25); // versionMajor
  header.writeUInt16LE(1, 26); // cFolders
  header.writeUInt16LE(list.length, 28); // cFiles
  header.writeUInt16LE(0, 30); // flags
  header.writeUInt16LE(0x1234, 32); // setID
  header.writeUInt16LE(0, 34); // iCabinet
  const folder = Buffer.alloc(folderSize);
  folder.writeUInt32LE(dataStart, 0); // coffCabStart
  folder.writeUInt16LE(blockCount, 4); // cCFData
  folder.writeUInt16LE(0, 6); // typeCompress: none
  return Buffer.concat([header, folder, filesBytes, dataBytes]);
}

// ---------------------------------------------------------------------------------------------
// ISO 9660 (ECMA-119), the smallest valid image: 2048-byte sectors; 0-15 system area (zeros);
// 16 the primary volume descriptor; 17 the set terminator; 18 and 19 the L (little-endian) and
// M (big-endian) path tables, each holding the root alone; 20.. the root directory ("." and ".."
// then the files, sorted, no record crossing a sector); then each file's data from a sector of
// its own. Numbers in "both-endian" fields are written little-endian then big-endian.

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

// ---------------------------------------------------------------------------------------------
// RAR 5 (rarlab's "RAR 5.0 archive format"): signature "Rar!\x1a\x07\x01\x00", then blocks of
// [CRC32 of what follows it up to the data area][vint header size][vint type][vint flags]
// [vint extra size if flag 1][vint data size if flag 2][type-specific fields][data]. vints are
// little-endian groups of 7 bits, the high bit set on every byte but the last.

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

// ---------------------------------------------------------------------------------------------
// RAR 4 (RAR 1.5-4.x, rarlab's technote.txt): blocks of [HEAD_CRC u16 = low half of the CRC32 of
// the header from HEAD_TYPE on][HEAD_TYPE u8][HEAD_FLAGS u16][HEAD_SIZE u16]..., little-endian.
// The marker block is the fixed 7 bytes "Rar!\x1a\x07\x00"; then the archive header (0x73), a
// file header (0x74, flag 0x8000: data follows) per file with its data, and the end block (0x7b).
// Paths use "\" as separator on every host OS in this format.
// A name that is not ASCII gets flag 0x0200: an ASCII name, a NUL, and the name in RAR's
// compressed UTF-16 (a high byte, then per 4 characters a flags byte and, with the 2-bit code 2
// throughout, each character's low and high byte).

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

// ---------------------------------------------------------------------------------------------
// RPM (v3 file format, as rpm 4 writes it; big-endian): a 96-byte lead (magic ED AB EE DB,
// version 3.0, binary, name, signature type 5), the signature header, zeros to an 8-byte
// boundary, the main header, then the payload: gzip of a newc cpio. A header is the magic
// 8E AD E8 01, 4 reserved bytes, the index entry count and data size, 16-byte index entries
// (tag, type, offset, count) sorted by tag, then the data (each value aligned for its type).
// Both headers are "regions" as rpm 4 makes them: a first entry (62 signatures, 63 immutable)
// whose 16-byte value, at the end of the data, is an index entry pointing back over the index.

const RPM = { CHAR: 1, INT16: 3, INT32: 4, STRING: 6, BIN: 7, STRING_ARRAY: 8, I18NSTRING: 9 } as const;

interface RpmTag {
  tag: number;
  type: (typeof RPM)[keyof typeof RPM];
  value: string | string[] | number[] | Buffer;
}

function rpmHeader(regionTag: number, tags: RpmTag[]): Buffer {
  const sorted = [...tags].sort((a, b) => a.tag - b.tag);
  const il = sorted.length + 1;
  const index: Buffer[] = [];
  const data: Buffer[] = [];
  let size = 0;
  const entry = (tag: number, type: number, offset: number, count: number) => {
    const e = Buffer.alloc(16);
    e.writeUInt32BE(tag, 0);
    e.writeUInt32BE(type, 4);
    e.writeInt32BE(offset, 8);
    e.writeUInt32BE(count, 12);
    return e;
  };
  for (const t of sorted) {
    const align = t.type === RPM.INT16 ? 2 : t.type === RPM.INT32 ? 4 : 1;
    const gap = pad(size, align);
    data.push(gap);
    size += gap.length;
    let value: Buffer;
    let count: number;
    if (t.type === RPM.STRING) {
      value = Buffer.from(`${t.value as string}\0`);
      count = 1;
    } else if (t.type === RPM.STRING_ARRAY || t.type === RPM.I18NSTRING) {
      const list = t.value as string[];
      value = Buffer.from(list.map((s) => `${s}\0`).join(''));
      count = list.length;
    } else if (t.type === RPM.BIN) {
      value = t.value as Buffer;
      count = value.length;
    } else {
      const nums = t.value as number[];
      const width = t.type === RPM.INT16 ? 2 : 4;
      value = Buffer.alloc(nums.length * width);
      nums.forEach((n, i) => (width === 2 ? value.writeUInt16BE(n, i * 2) : value.writeUInt32BE(n, i * 4)));
      count = nums.length;
    }
    index.push(entry(t.tag, t.type, size, count));
    data.push(value);
    size += value.length;
  }
  // The region trailer: the region tag again, with the negated size of the whole index.
  data.push(entry(regionTag, RPM.BIN, -il * 16, 16));
  const intro = Buffer.alloc(16);
  intro.writeUInt32BE(0x8eade801, 0);
  intro.writeUInt32BE(il, 8);
  intro.writeUInt32BE(size + 16, 12);
  return Buffer.concat([intro, entry(regionTag, RPM.BIN, size, 16), ...index, ...data]);
}

/**
 * An RPM package "trawl-test-1.0-1.noarch" installing `files` (paths without a leading "/"),
 * with a gzip-compressed cpio payload. 7-Zip shows the payload as one file,
 * trawl-test-1.0-1.noarch.cpio.gz.
 */
export function makeRpm(files: Files): Buffer {
  const list = entries(files);
  const payload = gzipSync(makeCpio(Object.fromEntries(list.map(([p, d]) => [`./${p}`, d]))));
  const dirs = [...new Set(list.map(([p]) => `/${p.slice(0, p.lastIndexOf('/') + 1)}`))];
  const header = rpmHeader(63, [
    { tag: 100, type: RPM.STRING_ARRAY, value: ['C'] }, // HEADERI18NTABLE
    { tag: 1000, type: RPM.STRING, value: 'trawl-test' }, // NAME
    { tag: 1001, type: RPM.STRING, value: '1.0' }, // VERSION
    { tag: 1002, type: RPM.STRING, value: '1' }, // RELEASE
    { tag: 1004, type: RPM.I18NSTRING, value: ['Trawl test package'] }, // SUMMARY
    { tag: 1005, type: RPM.I18NSTRING, value: ['A package made by the tests.'] }, // DESCRIPTION
    { tag: 1006, type: RPM.INT32, value: [TIME] }, // BUILDTIME
    { tag: 1009, type: RPM.INT32, value: [list.reduce((n, [, d]) => n + d.length, 0)] }, // SIZE
    { tag: 1014, type: RPM.STRING, value: 'Apache-2.0' }, // LICENSE
    { tag: 1016, type: RPM.I18NSTRING, value: ['Unspecified'] }, // GROUP
    { tag: 1021, type: RPM.STRING, value: 'linux' }, // OS
    { tag: 1022, type: RPM.STRING, value: 'noarch' }, // ARCH
    { tag: 1028, type: RPM.INT32, value: list.map(([, d]) => d.length) }, // FILESIZES
    { tag: 1030, type: RPM.INT16, value: list.map(() => 0o100644) }, // FILEMODES
    { tag: 1034, type: RPM.INT32, value: list.map(() => TIME) }, // FILEMTIMES
    { tag: 1033, type: RPM.INT16, value: list.map(() => 0) }, // FILERDEVS
    { tag: 1035, type: RPM.STRING_ARRAY, value: list.map(([, d]) => createHash('md5').update(d).digest('hex')) }, // FILEDIGESTS (MD5)
    { tag: 1036, type: RPM.STRING_ARRAY, value: list.map(() => '') }, // FILELINKTOS
    { tag: 1037, type: RPM.INT32, value: list.map(() => 0) }, // FILEFLAGS
    { tag: 1039, type: RPM.STRING_ARRAY, value: list.map(() => 'root') }, // FILEUSERNAME
    { tag: 1040, type: RPM.STRING_ARRAY, value: list.map(() => 'root') }, // FILEGROUPNAME
    { tag: 1044, type: RPM.STRING, value: 'trawl-test-1.0-1.src.rpm' }, // SOURCERPM (without it, rpm takes it for a source package)
    { tag: 1116, type: RPM.INT32, value: list.map(([p]) => dirs.indexOf(`/${p.slice(0, p.lastIndexOf('/') + 1)}`)) }, // DIRINDEXES
    { tag: 1117, type: RPM.STRING_ARRAY, value: list.map(([p]) => p.slice(p.lastIndexOf('/') + 1)) }, // BASENAMES
    { tag: 1118, type: RPM.STRING_ARRAY, value: dirs }, // DIRNAMES
    { tag: 1095, type: RPM.INT32, value: list.map(() => 1) }, // FILEDEVICES
    { tag: 1096, type: RPM.INT32, value: list.map((_, i) => i + 1) }, // FILEINODES
    { tag: 1097, type: RPM.STRING_ARRAY, value: list.map(() => '') }, // FILELANGS
    { tag: 1124, type: RPM.STRING, value: 'cpio' }, // PAYLOADFORMAT
    { tag: 1125, type: RPM.STRING, value: 'gzip' }, // PAYLOADCOMPRESSOR
    { tag: 1126, type: RPM.STRING, value: '9' }, // PAYLOADFLAGS
  ]);
  const signature = rpmHeader(62, [
    { tag: 273, type: RPM.STRING, value: createHash('sha256').update(header).digest('hex') }, // SHA256 of the header
    { tag: 1000, type: RPM.INT32, value: [header.length + payload.length] }, // SIZE: header + payload
    { tag: 1004, type: RPM.BIN, value: createHash('md5').update(header).update(payload).digest() }, // MD5: header + payload
  ]);
  const lead = Buffer.alloc(96);
  lead.writeUInt32BE(0xedabeedb, 0);
  lead[4] = 3; // major
  lead[5] = 0; // minor
  lead.writeUInt16BE(0, 6); // binary package
  lead.writeUInt16BE(0, 8); // architecture number (noarch)
  lead.write('trawl-test-1.0-1', 10, 'latin1');
  lead.writeUInt16BE(1, 76); // OS: Linux
  lead.writeUInt16BE(5, 78); // signature type: header-style signature
  return Buffer.concat([lead, signature, pad(signature.length, 8), header, payload]);
}

// ---------------------------------------------------------------------------------------------
// OLE compound files (MS-CFB), written with the `cfb` package. It always adds a 4-byte stream
// named "\u0001Sh33tJ5" (its placeholder), which readers list like any other stream. It also
// marks the FAT entries past the end of the file ENDOFCHAIN, where MS-CFB 2.3 wants FREESECT;
// p7zip 16.02 then refuses the file ("Unexpected end of archive"), so those entries are fixed.

/** The name of the placeholder stream that `cfb` adds to every file it writes. */
export const CFB_PLACEHOLDER = '\u0001Sh33tJ5';

/** An OLE compound file with one stream per file (`a/b` puts stream b in storage a). */
export function makeOle(files: Files): Buffer {
  const doc = CFB.utils.cfb_new();
  for (const [name, data] of entries(files)) CFB.utils.cfb_add(doc, `/${name}`, data);
  const out = Buffer.from(CFB.write(doc, { type: 'buffer', fileType: 'cfb' }) as Uint8Array);
  const sectorSize = 1 << out.readUInt16LE(0x1e);
  const sectors = out.length / sectorSize - 1; // the header takes the first sector's room
  const fatSectors = out.readUInt32LE(0x2c);
  if (fatSectors > 109) throw new Error('makeOle: too large for the header DIFAT');
  for (let f = 0; f < fatSectors; f++) {
    const at = (out.readUInt32LE(0x4c + f * 4) + 1) * sectorSize;
    for (let i = 0; i < sectorSize / 4; i++) {
      if (f * (sectorSize / 4) + i >= sectors) out.writeUInt32LE(0xffffffff, at + i * 4); // FREESECT
    }
  }
  return out;
}

const MSI_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._';

/**
 * A stream name as Windows Installer stores it: two characters of [0-9A-Za-z._] per UTF-16 unit
 * (0x3800 + c1 + c2 * 64), an odd last one alone (0x4800 + c); other characters as they are.
 * 7-Zip decodes such names when it unpacks an MSI.
 */
export function msiStreamName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i += 2) {
    const a = MSI_CHARS.indexOf(name[i]!);
    const b = i + 1 < name.length ? MSI_CHARS.indexOf(name[i + 1]!) : -2;
    if (a < 0 || b === -1) throw new Error(`not an MSI stream name: ${name}`);
    out += String.fromCharCode(b === -2 ? 0x4800 + a : 0x3800 + a + b * 64);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Zip written by hand, stored (method 0), for what 7-Zip does not write: names as raw bytes
// without the UTF-8 flag (an old DOS archiver's CP437), and ZIP64 records on a small archive.
// Local header (30 bytes + name + extra), data, central directory (46 bytes + name + extra each),
// [ZIP64 end of central directory record (56 bytes) and locator (20 bytes)], end record (22).

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
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(version, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(time, 10);
    local.writeUInt16LE(date, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(z64 ? 0xffffffff : data.length, 18);
    local.writeUInt32LE(z64 ? 0xffffffff : data.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(localExtra.length, 28);
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
    central.writeUInt16LE(version, 6); // needed
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(time, 12);
    central.writeUInt16LE(date, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(z64 ? 0xffffffff : data.length, 20);
    central.writeUInt32LE(z64 ? 0xffffffff : data.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(centralExtra.length, 30);
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

// ---------------------------------------------------------------------------------------------
// E-mail (RFC 5322 with MIME, RFC 2045-2049): a multipart/mixed message with CRLF lines; the
// body first (text/plain, or multipart/alternative of text and HTML), then each attachment in
// base64 with Content-Disposition: attachment. Non-ASCII file names use RFC 2231 (filename*)
// and, for old readers, an RFC 2047 encoded word in name=.

export interface EmlAttachment {
  filename: string;
  content: Buffer | string;
  contentType: string;
}

const base64Lines = (b: Buffer): string => (b.toString('base64').match(/.{1,76}/g) ?? ['']).join('\r\n');

function textPart(type: 'plain' | 'html', body: string): string {
  return `Content-Type: text/${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(Buffer.from(body))}\r\n`;
}

/** A multipart/mixed RFC 822 message with a text (and optionally HTML) body and attachments. */
export function makeEml(msg: { text: string; html?: string; attachments: readonly EmlAttachment[] }): Buffer {
  const mixed = 'trawl-mixed-boundary-7f3a';
  const alt = 'trawl-alt-boundary-9c1e';
  const lines: string[] = [
    'From: Trawl Test <sender@example.invalid>',
    'To: Analyst <analyst@example.invalid>',
    'Subject: Trawl extraction test',
    `Date: ${new Date(TIME * 1000).toUTCString().replace('GMT', '+0000')}`,
    'Message-ID: <extraction-test@example.invalid>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${mixed}"`,
    '',
    'This is a multi-part message in MIME format.',
    `--${mixed}`,
  ];
  let body: string;
  if (msg.html !== undefined) {
    body = `Content-Type: multipart/alternative; boundary="${alt}"\r\n\r\n--${alt}\r\n${textPart('plain', msg.text)}--${alt}\r\n${textPart('html', msg.html)}--${alt}--\r\n`;
  } else body = textPart('plain', msg.text);
  const parts = [body];
  for (const a of msg.attachments) {
    const ascii = /^[\x20-\x7e]*$/.test(a.filename) && !/["\\]/.test(a.filename);
    const name = ascii ? `"${a.filename}"` : `"=?UTF-8?B?${Buffer.from(a.filename).toString('base64')}?="`;
    const disposition = ascii ? `filename="${a.filename}"` : `filename*=UTF-8''${encodeURIComponent(a.filename)}`;
    parts.push(
      `Content-Type: ${a.contentType}; name=${name}\r\nContent-Disposition: attachment; ${disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(bytes(a.content))}\r\n`,
    );
  }
  return Buffer.from(lines.join('\r\n') + '\r\n' + parts.join(`--${mixed}\r\n`) + `--${mixed}--\r\n`, 'utf8');
}
