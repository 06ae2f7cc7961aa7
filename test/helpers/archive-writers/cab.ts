// Microsoft Cabinet ([MS-CAB]): CFHEADER (36 bytes), one CFFOLDER (8 bytes, no compression),
// a CFFILE per file (16 bytes + NUL-terminated name with "\" separators; attribute 0x80 marks a
// UTF-8 name), then CFDATA blocks (checksum, compressed and uncompressed sizes, data) of at most
// 32768 bytes cut from all files' data laid end to end. A checksum of 0 means "not computed".
import { TIME, bytes, entries, dosDateTime, type Files } from './common.js';

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
