// gzip, with node's own zlib (native, and no per-file start-up: most nested containers are small
// .gz files). Concatenated members unpack to one file, as gunzip does. The stored name and time
// (RFC 1952 FNAME, MTIME) are kept; without a name the output is `<archive>~`, which the walk
// renames after the container (`a.tar.gz` -> `a.tar`).
import { createReadStream, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { open, rm, utimes } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import type { ExtractContext, ExtractOutcome, Extractor } from '../extractor.js';
import { hasAt } from '../extractor.js';
import { LimitExceeded, ONE_CALL_INPUT, ONE_CALL_OUTPUT, OutputBudget } from '../output-guard.js';

const FEXTRA = 0x04;
const FNAME = 0x08;

/** The member's stored name (base name only) and modification time, from its header. */
async function headerOf(path: string): Promise<{ name: string | null; mtime: number }> {
  const fh = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await fh.read(Buffer.alloc(1024), 0, 1024, 0);
    const h = buffer.subarray(0, bytesRead);
    const flags = h[3] ?? 0;
    const mtime = h.length >= 8 ? h.readUInt32LE(4) : 0;
    if (!(flags & FNAME)) return { name: null, mtime };
    let at = 10;
    if (flags & FEXTRA) at += 2 + (h.length >= 12 ? h.readUInt16LE(10) : 0);
    const end = h.indexOf(0, at);
    const raw = end > at ? h.subarray(at, end).toString('latin1') : '';
    const name = raw.slice(Math.max(raw.lastIndexOf('/'), raw.lastIndexOf('\\')) + 1).replace(/^\.+$/, '');
    return { name: name || null, mtime };
  } finally {
    await fh.close();
  }
}

/** The whole output in one call, or null when it would exceed `max` bytes (or is corrupt). */
function gunzipSmall(path: string, max: number): Buffer | null {
  try {
    return gunzipSync(readFileSync(path), { maxOutputLength: max });
  } catch {
    return null; // too large for this path, or corrupt: the streaming path will say which
  }
}

async function extract(ctx: ExtractContext): Promise<ExtractOutcome> {
  const { name, mtime } = await headerOf(ctx.path);
  const out = join(ctx.outDir, name ?? `${basename(ctx.path)}~`);
  const budget = new OutputBudget(ctx.caps);
  budget.file();
  try {
    const small = ctx.size <= ONE_CALL_INPUT ? gunzipSmall(ctx.path, Math.min(ONE_CALL_OUTPUT, ctx.caps.maxBytes)) : null;
    if (small) {
      budget.add(small.length);
      writeFileSync(out, small);
    } else {
      await pipeline(createReadStream(ctx.path), createGunzip(), budget.meter(), createWriteStream(out));
    }
  } catch (err) {
    if (err instanceof LimitExceeded) {
      await rm(out, { force: true }); // incomplete
      return { limit: err.limit };
    }
    // Truncated or corrupt: keep what was decompressed (it may still be worth hunting).
    return { error: `gzip: ${(err as Error).message}` };
  } finally {
    if (mtime > 0) await utimes(out, mtime, mtime).catch(() => undefined);
  }
  return {};
}

export const gzip: Extractor = { type: 'GZIP', accepts: ({ header }) => hasAt(header, 0, [0x1f, 0x8b, 0x08]), extract };
