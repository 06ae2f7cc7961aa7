// cpio "newc" (SVR4 without CRC): per entry "070701" and 13 fields of 8 hex digits (ino, mode,
// uid, gid, nlink, mtime, filesize, devmajor, devminor, rdevmajor, rdevminor, namesize with its
// NUL, check 0), the name and NUL padded to a multiple of 4 (counting the 110-byte header), then
// the data padded to 4. The archive ends with an entry named "TRAILER!!!".
import { TIME, entries, pad, type Files } from './common.js';

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
