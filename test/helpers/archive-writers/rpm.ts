// RPM (v3 file format, as rpm 4 writes it; big-endian): a 96-byte lead (magic ED AB EE DB,
// version 3.0, binary, name, signature type 5), the signature header, zeros to an 8-byte
// boundary, the main header, then the payload: gzip of a newc cpio. A header is the magic
// 8E AD E8 01, 4 reserved bytes, the index entry count and data size, 16-byte index entries
// (tag, type, offset, count) sorted by tag, then the data (each value aligned for its type).
// Both headers are "regions" as rpm 4 makes them: a first entry (62 signatures, 63 immutable)
// whose 16-byte value, at the end of the data, is an index entry pointing back over the index.
import { makeCpio } from './cpio.js';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { TIME, bytes, entries, pad, type Files } from './common.js';

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
