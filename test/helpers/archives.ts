// Archives for tests, made here rather than stored: with 7-Zip (a separate WebAssembly instance
// from the one Trawl unpacks with, working in memory) for the formats it writes, and a tar writer
// for what 7-Zip refuses to write (`../` paths, absolute paths, links).
import { createRequire } from 'node:module';
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

const require = createRequire(import.meta.url);

interface MemFs {
  mkdirTree(path: string): void;
  writeFile(path: string, data: Uint8Array): void;
  readFile(path: string): Uint8Array;
  chdir(path: string): void;
}
type Factory = (opts: Record<string, unknown>) => Promise<{ FS: MemFs; callMain(args: string[]): number }>;

/** 7-Zip's -t names of the formats it can write. */
export type WritableFormat = 'zip' | '7z' | 'tar' | 'gzip' | 'bzip2' | 'xz' | 'wim';

const EXTENSION: Record<WritableFormat, string> = { zip: 'zip', '7z': '7z', tar: 'tar', gzip: 'gz', bzip2: 'bz2', xz: 'xz', wim: 'wim' };

export interface ArchiveOptions {
  password?: string;
  /** 7z only: encrypt the headers too (names are hidden without the password). */
  encryptHeaders?: boolean;
  /** Compression level 0-9 (-mx). */
  level?: number;
  /** Zip: the method, e.g. AES256 encryption (-mem=AES256) or ZipCrypto (default). */
  zipEncryption?: 'ZipCrypto' | 'AES256';
}

/** An archive of `files` (path -> content) in `format`; gzip/bzip2/xz take exactly one file. */
export async function makeArchive(format: WritableFormat, files: Record<string, Buffer | string>, opts: ArchiveOptions = {}): Promise<Buffer> {
  const log: string[] = [];
  const sz = await (require('7z-wasm') as Factory)({ print: (s: string) => log.push(s), printErr: (s: string) => log.push(s) });
  sz.FS.mkdirTree('/w/src');
  for (const [name, content] of Object.entries(files)) {
    const dir = name.includes('/') ? name.slice(0, name.lastIndexOf('/')) : '';
    if (dir) sz.FS.mkdirTree(`/w/src/${dir}`);
    sz.FS.writeFile(`/w/src/${name}`, typeof content === 'string' ? Buffer.from(content) : content);
  }
  sz.FS.chdir('/w/src');
  const args = ['a', `-t${format}`, '-bd', `-mx=${opts.level ?? 5}`];
  if (opts.password) args.push(`-p${opts.password}`);
  if (opts.encryptHeaders) args.push('-mhe=on');
  if (opts.zipEncryption) args.push(`-mem=${opts.zipEncryption}`);
  // With no extension, 7-Zip would add one.
  const out = `/w/out.${EXTENSION[format]}`;
  const code = sz.callMain([...args, out, ...Object.keys(files)]);
  if (code !== 0) throw new Error(`7-Zip could not write ${format}: ${log.join('\n')}`);
  return Buffer.from(sz.FS.readFile(out));
}

export interface TarEntry {
  name: string;
  content?: Buffer | string;
  /** file (default), dir, symlink or hardlink (to `link`). */
  type?: 'file' | 'dir' | 'symlink' | 'hardlink';
  link?: string;
  /** UNIX seconds. */
  mtime?: number;
}

const TYPEFLAG = { file: '0', hardlink: '1', symlink: '2', dir: '5' } as const;

function tarHeader(e: TarEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  const put = (s: string, off: number, len: number) => h.write(s, off, Math.min(len, Buffer.byteLength(s)), 'utf8');
  const octal = (n: number, off: number, len: number) => put(n.toString(8).padStart(len - 1, '0') + '\0', off, len);
  put(e.name, 0, 100);
  octal(e.type === 'dir' ? 0o755 : 0o644, 100, 8);
  octal(0, 108, 8);
  octal(0, 116, 8);
  octal(size, 124, 12);
  octal(e.mtime ?? 1_700_000_000, 136, 12);
  h.fill(0x20, 148, 156);
  put(TYPEFLAG[e.type ?? 'file'], 156, 1);
  if (e.link) put(e.link, 157, 100);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const b of h) sum += b;
  put(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8);
  return h;
}

/** A POSIX tar written byte by byte: names are taken as given, however dangerous. */
export function makeTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const body = e.type && e.type !== 'file' ? Buffer.alloc(0) : Buffer.from(e.content ?? '');
    parts.push(tarHeader(e, body.length), body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A zip entry's local header (30 bytes + name) and central-directory record (46 bytes + name). */
function zipHeaders(name: string, crc: number, packed: number, size: number, offset: number): { local: Buffer; central: Buffer } {
  const n = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8); // deflate
  local.writeUInt32LE(crc, 14);
  local.writeUInt32LE(packed, 18);
  local.writeUInt32LE(size, 22);
  local.writeUInt16LE(n.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(20, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(crc, 16);
  central.writeUInt32LE(packed, 20);
  central.writeUInt32LE(size, 24);
  central.writeUInt16LE(n.length, 28);
  central.writeUInt32LE(offset, 42);
  return { local: Buffer.concat([local, n]), central: Buffer.concat([central, n]) };
}

function zipEnd(entries: number, cdSize: number, cdOffset: number): Buffer {
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries, 8);
  end.writeUInt16LE(entries, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(cdOffset, 16);
  return end;
}

/** A zip deflated with node:zlib: far faster than 7-Zip's WebAssembly for big test inputs. */
export function makeZip(files: Record<string, Buffer | string>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const raw = typeof content === 'string' ? Buffer.from(content) : content;
    const data = deflateRawSync(raw, { level: 9 });
    const h = zipHeaders(name, crc32(raw), data.length, raw.length, offset);
    parts.push(h.local, data);
    central.push(h.central);
    offset += h.local.length + data.length;
  }
  const cd = Buffer.concat(central);
  return Buffer.concat([...parts, cd, zipEnd(central.length, cd.length, offset)]);
}

/**
 * An overlapping-entry zip bomb (Fifield's construction, simplified): `entries` central-directory
 * records, each with its own name, all pointing at one local entry of `bytes` zeros. Every entry
 * would unpack to the full `bytes`; the archive stays a few kilobytes per thousand entries.
 */
export function makeOverlappingZip(entries: number, bytes: number): Buffer {
  const zeros = Buffer.alloc(bytes);
  const data = deflateRawSync(zeros, { level: 9 });
  const crc = crc32(zeros);
  const { local } = zipHeaders('a', crc, data.length, bytes, 0);
  const central = Array.from({ length: entries }, (_, i) => zipHeaders(`zeros-${i}.bin`, crc, data.length, bytes, 0).central);
  const cd = Buffer.concat(central);
  return Buffer.concat([local, data, cd, zipEnd(entries, cd.length, local.length + data.length)]);
}

/**
 * A gzip stream of `gib` GiB of zeros, about 1 MB per GiB: concatenated members of 64 MiB each
 * (gunzip, and 7-Zip, read on across members). Its trailer's size field says 64 MiB.
 */
export function makeGzipOfZeros(gib: number): Buffer {
  const member = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: gib * 16 }, () => member));
}
