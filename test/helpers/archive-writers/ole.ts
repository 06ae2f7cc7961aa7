// OLE compound files (MS-CFB), written with the `cfb` package. It always adds a 4-byte stream
// named "\u0001Sh33tJ5" (its placeholder), which readers list like any other stream. It also
// marks the FAT entries past the end of the file ENDOFCHAIN, where MS-CFB 2.3 wants FREESECT;
// p7zip 16.02 then refuses the file ("Unexpected end of archive"), so those entries are fixed.
import CFB from 'cfb';
import { entries, type Files } from './common.js';

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
