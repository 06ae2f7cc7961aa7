// A zip reader on node's native zlib, for the common case: entries stored or deflated, not
// encrypted (zip.ts hands everything else to 7-Zip). Native inflate and plain file writes make it
// several times faster than 7-Zip's WebAssembly build on archives of many small files, and it
// salvages what it can from a zip whose end (the central directory) is missing.
import { closeSync, createReadStream, futimesSync, openSync, readSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32, createInflateRaw, inflateRawSync } from 'node:zlib';
import { EntryPaths } from './entry-paths.js';
import type { ExtractContext, ExtractOutcome } from './extractor.js';
import { LimitExceeded, ONE_CALL_INPUT, ONE_CALL_OUTPUT, OutputBudget } from './output-guard.js';

interface Entry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  packed: number;
  size: number;
  /** Offset of the local header. */
  offset: number;
  /** DOS date and time. */
  dosTime: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_CENTRAL_DIRECTORY = 64 * 1024 * 1024;

/** Not for this reader (encrypted, an unusual method, a multi-disk set): use 7-Zip. */
export class NotForUs extends Error {}

// CP437, the encoding of names without the UTF-8 flag, for bytes 0x80-0xFF.
const CP437 =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeName(raw: Buffer, utf8: boolean): string {
  if (utf8) return raw.toString('utf8');
  let s = '';
  for (const b of raw) s += b < 0x80 ? String.fromCharCode(b) : CP437[b - 0x80];
  return s;
}

/** A name made safe: components only (no `..`, `.`, drive or root), each at most 200 bytes. */
function safePath(name: string): string {
  return name
    .split(/[/\\]/)
    .filter((p) => p && p !== '.' && p !== '..' && !/^[A-Za-z]:$/.test(p))
    .map((p) => Buffer.from(p).subarray(0, 200).toString('utf8').replace(/\0/g, '_'))
    .join('/');
}

function dosToUnix(t: number): number | null {
  const date = t >>> 16;
  const time = t & 0xffff;
  if (date === 0) return null;
  const ms = Date.UTC(1980 + (date >> 9), ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2);
  return Number.isFinite(ms) ? ms / 1000 : null;
}

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let n = 0;
  while (n < length) {
    const got = readSync(fd, buf, n, length - n, offset + n);
    if (got === 0) break;
    n += got;
  }
  return buf.subarray(0, n);
}

/** Where the central directory is, or null when the file has no end record (truncated). */
function findCentral(fd: number, size: number): { offset: number; length: number; count: number } | null {
  const tailLen = Math.min(size, 65_557);
  const tail = readAt(fd, size - tailLen, tailLen);
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) !== EOCD) continue;
    if (tail.readUInt16LE(i + 4) !== 0 || tail.readUInt16LE(i + 6) !== 0) throw new NotForUs('multi-disk zip');
    let count = tail.readUInt16LE(i + 10);
    let length = tail.readUInt32LE(i + 12);
    let offset = tail.readUInt32LE(i + 16);
    if ((count === 0xffff || length === 0xffffffff || offset === 0xffffffff) && i >= 20 && tail.readUInt32LE(i - 20) === ZIP64_LOCATOR) {
      const rec = readAt(fd, Number(tail.readBigUInt64LE(i - 12)), 56);
      if (rec.length < 56 || rec.readUInt32LE(0) !== ZIP64_EOCD) throw new NotForUs('bad ZIP64 end record');
      count = Number(rec.readBigUInt64LE(32));
      length = Number(rec.readBigUInt64LE(40));
      offset = Number(rec.readBigUInt64LE(48));
    }
    return { offset, length, count };
  }
  return null;
}

function parseCentral(buf: Buffer, count: number): Entry[] {
  const entries: Entry[] = [];
  let at = 0;
  for (let k = 0; k < count && at + 46 <= buf.length && buf.readUInt32LE(at) === CENTRAL; k++) {
    const flags = buf.readUInt16LE(at + 8);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const e: Entry = {
      name: decodeName(buf.subarray(at + 46, at + 46 + nameLen), (flags & 0x800) !== 0),
      flags,
      method: buf.readUInt16LE(at + 10),
      dosTime: buf.readUInt32LE(at + 12),
      crc: buf.readUInt32LE(at + 16),
      packed: buf.readUInt32LE(at + 20),
      size: buf.readUInt32LE(at + 24),
      offset: buf.readUInt32LE(at + 42),
    };
    // ZIP64: the 64-bit values, in this order, for the fields that are 0xFFFFFFFF.
    const extra = buf.subarray(at + 46 + nameLen, at + 46 + nameLen + extraLen);
    for (let x = 0; x + 4 <= extra.length; x += 4 + extra.readUInt16LE(x + 2)) {
      if (extra.readUInt16LE(x) !== 1) continue;
      let p = x + 4;
      const next = () => (p + 8 <= extra.length ? Number(extra.readBigUInt64LE((p += 8) - 8)) : 0);
      if (e.size === 0xffffffff) e.size = next();
      if (e.packed === 0xffffffff) e.packed = next();
      if (e.offset === 0xffffffff) e.offset = next();
    }
    entries.push(e);
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** Local headers one after another from the start: what a zip without its end still holds. */
function scanLocal(fd: number, size: number): Entry[] {
  const entries: Entry[] = [];
  for (let at = 0; at + 30 <= size; ) {
    const h = readAt(fd, at, 30);
    if (h.length < 30 || h.readUInt32LE(0) !== LOCAL) break;
    const flags = h.readUInt16LE(6);
    const nameLen = h.readUInt16LE(26);
    const e: Entry = {
      name: decodeName(readAt(fd, at + 30, nameLen), (flags & 0x800) !== 0),
      flags,
      method: h.readUInt16LE(8),
      dosTime: h.readUInt32LE(10),
      crc: h.readUInt32LE(14),
      packed: h.readUInt32LE(18),
      size: h.readUInt32LE(22),
      offset: at,
    };
    // Sizes that only follow the data (a data descriptor) cannot be walked past safely.
    if (flags & 0x8 || e.packed === 0xffffffff) break;
    entries.push(e);
    at += 30 + nameLen + h.readUInt16LE(28) + e.packed;
  }
  return entries;
}

/** Inflates one entry in a single call; null when its output turns out larger than `max`. */
function inflateSmall(packed: Buffer, method: number, max: number): Buffer | null {
  if (method === 0) return packed.length <= max ? packed : null;
  try {
    return inflateRawSync(packed, { maxOutputLength: max });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') return null;
    throw err;
  }
}

async function streamEntry(e: Entry, path: string, dataAt: number, fd: number, budget: OutputBudget): Promise<number> {
  let crc = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      crc = crc32(chunk, crc);
      done(null, chunk);
    },
  });
  const source = createReadStream(path, { start: dataAt, end: dataAt + e.packed - 1 });
  // Not a WriteStream on `fd`: when a limit stops the pipeline, pipeline destroys its streams,
  // and a WriteStream's destroy closes its fd, even with autoClose: false, asynchronously, while
  // writeEntry closes the same fd itself: EBADF, or another file's fd closed once the number is
  // reused. This sink only writes; writeEntry owns the fd.
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      try {
        writeFileSync(fd, chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
  if (e.method === 0) await pipeline(source, budget.meter(), check, sink);
  else await pipeline(source, createInflateRaw(), budget.meter(), check, sink);
  return crc;
}

/** Writes one entry; returns a message when it is damaged (the bytes read are kept). */
async function writeEntry(fd: number, e: Entry, dataAt: number, ctx: ExtractContext, budget: OutputBudget, paths: EntryPaths): Promise<string | null> {
  const rel = safePath(e.name);
  if (!rel || e.name.endsWith('/')) return null;
  budget.file();
  // Synchronous, folders cached: on archives of many small files, file-system calls are the cost.
  const target = paths.create(rel);
  let crc: number;
  try {
    const max = Math.min(ONE_CALL_OUTPUT, ctx.caps.maxBytes + 1);
    const small = e.packed <= ONE_CALL_INPUT ? readAt(fd, dataAt, e.packed) : null;
    if (small && small.length < e.packed) return `ERROR: Unexpected end of archive : ${e.name}`;
    const data = small ? inflateSmall(small, e.method, max) : null;
    if (data) {
      budget.add(data.length);
      writeFileSync(target.fd, data);
      crc = crc32(data);
    } else {
      // Large, or larger than it said: streamed, with the budget counting as it goes.
      crc = await streamEntry(e, ctx.path, dataAt, target.fd, budget);
    }
  } catch (err) {
    if (err instanceof LimitExceeded) {
      closeSync(target.fd);
      target.fd = -1;
      await rm(target.path, { force: true }); // incomplete
      throw err;
    }
    return `ERROR: Data Error : ${e.name}`;
  } finally {
    if (target.fd >= 0) {
      const mtime = dosToUnix(e.dosTime);
      if (mtime !== null) futimesSync(target.fd, mtime, mtime);
      closeSync(target.fd);
    }
  }
  return crc === e.crc >>> 0 ? null : `ERROR: CRC Failed : ${e.name}`;
}

/** Unpacks a plain zip; throws NotForUs for what 7-Zip should do instead. */
export async function readZip(ctx: ExtractContext): Promise<ExtractOutcome> {
  const fd = openSync(ctx.path, 'r');
  try {
    const central = findCentral(fd, ctx.size);
    let entries: Entry[];
    const errors: string[] = [];
    const budget = new OutputBudget(ctx.caps);
    const paths = new EntryPaths(ctx.outDir);
    if (central) {
      if (central.length > MAX_CENTRAL_DIRECTORY || central.offset + central.length > ctx.size) throw new NotForUs('central directory out of bounds');
      entries = parseCentral(readAt(fd, central.offset, central.length), central.count);
      if (entries.length < central.count) errors.push(`Headers Error: ${central.count - entries.length} entries unreadable`);
    } else {
      entries = scanLocal(fd, ctx.size);
      errors.push(`truncated: no central directory; ${entries.length} entries read from local headers`);
    }
    if (entries.some((e) => e.flags & 0x1 || (e.method !== 0 && e.method !== 8))) throw new NotForUs('encrypted or unusual method');
    // Entries sharing data (overlapping-entry bombs) are refused; each byte unpacks once.
    let end = 0;
    for (const e of [...entries].sort((a, b) => a.offset - b.offset)) {
      const h = readAt(fd, e.offset, 30);
      if (h.length < 30 || h.readUInt32LE(0) !== LOCAL) {
        errors.push(`Headers Error: bad local header : ${e.name}`);
        continue;
      }
      if (e.offset < end) {
        errors.push(`Headers Error: overlapping entries : ${e.name}`);
        continue;
      }
      const dataAt = e.offset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
      end = dataAt + e.packed;
      try {
        const err = await writeEntry(fd, e, dataAt, ctx, budget, paths);
        if (err) errors.push(err);
      } catch (err) {
        if (err instanceof LimitExceeded) return { limit: err.limit, ...(errors.length ? { error: summary(errors) } : {}) };
        throw err;
      }
    }
    return errors.length ? { error: summary(errors) } : {};
  } finally {
    closeSync(fd);
  }
}

function summary(errors: string[]): string {
  const shown = [...new Set(errors)].slice(0, 3).join('; ');
  return errors.length > 3 ? `${shown}; and ${errors.length - 3} more` : shown;
}
