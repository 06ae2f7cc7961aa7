// Unix ar (the common System V / GNU layout): "!<arch>\n", then per member a 60-byte text header
// (name/ 16, mtime 12, uid 6, gid 6, octal mode 8, size 10, "`\n") and the data, padded with "\n"
// to an even offset. GNU ends names with "/" so that names may hold spaces; longer names would
// need the "//" name table, which these tests do not use.
import { gzipSync } from 'node:zlib';
import { makeTar } from '../archives.js';
import { TIME, bytes, entries, type Files } from './common.js';

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
