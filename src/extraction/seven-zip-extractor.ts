// An extractor backed by 7-Zip for one of its formats, with the password search for the formats
// that encrypt: the upload's password first, then the configured common ones; the first that
// opens the archive is reported in bundle_info.password.
import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ContainerFacts, ExtractContext, ExtractOutcome, Extractor } from './extractor.js';
import { errorLines, runSevenZip, wrongPassword } from './seven-zip.js';

export interface SevenZipFormat {
  type: string;
  /** 7-Zip's name of the format (`7z i` lists them), passed as -t so nothing else is tried. */
  format: string;
  accepts(f: ContainerFacts): boolean;
  /** The format can hold encrypted entries (zip, 7z, rar). */
  encryptable?: boolean;
}

/** A password that cannot be asked for: 7-Zip would prompt on stdin without one. */
const NO_PASSWORD = '-';
/** 7-Zip refuses to start unpacking what needs more memory than this (dictionary sizes). */
const MEMORY_LIMIT = '-smemx1g';

async function extractOnce(format: string, ctx: ExtractContext, password: string): Promise<ExtractOutcome & { wrongPassword: boolean }> {
  const run = await runSevenZip(
    ['x', `-t${format}`, '-y', '-aou', '-bd', MEMORY_LIMIT, `-p${password}`, `-o${ctx.outDir}`, ctx.path],
    ctx.caps,
    ctx.outDir,
  );
  if (run.limit) {
    // The file being written when the limit struck is incomplete: drop it, keep the others.
    if (run.partial?.startsWith(ctx.outDir + '/')) await rm(run.partial, { force: true });
    return { limit: run.limit, wrongPassword: false };
  }
  const out: ExtractOutcome & { wrongPassword: boolean } = { wrongPassword: wrongPassword(run.lines) };
  if (run.code !== 0) out.error = errorLines(run.lines).slice(0, 3).join('; ') || 'unreadable: 7-Zip gave up on it (truncated or corrupt?)';
  else {
    // Unpacked, but not as written: e.g. "The archive is open with offset" (a damaged start).
    const warnings = [...new Set(run.lines.filter((l) => l.startsWith('Warning: ')))];
    if (warnings.length > 0) out.error = warnings.join('; ');
  }
  return out;
}

/** Removes everything inside `dir`. */
export async function emptyDir(dir: string): Promise<void> {
  for (const name of await readdir(dir)) await rm(join(dir, name), { recursive: true, force: true });
}

/** Entry paths 7-Zip lists as encrypted, and whether the listing itself needed a password. */
async function encryption(format: string, path: string, password: string): Promise<{ headers: boolean; entries: string[] }> {
  const run = await runSevenZip(['l', '-slt', `-t${format}`, `-p${password}`, path]);
  if (wrongPassword(run.lines)) return { headers: true, entries: [] };
  const entries: string[] = [];
  let current: string | null = null;
  for (const line of run.lines) {
    if (line.startsWith('Path = ')) current = line.slice(7);
    else if (line === 'Encrypted = +' && current !== null) entries.push(current);
  }
  return { headers: false, entries };
}

async function extractEncryptable(format: string, ctx: ExtractContext): Promise<ExtractOutcome> {
  const candidates = ctx.passwords.length > 0 ? ctx.passwords : [NO_PASSWORD];
  const found = await encryption(format, ctx.path, candidates[0]!);
  if (!found.headers && found.entries.length === 0) return strip(await extractOnce(format, ctx, NO_PASSWORD));
  for (const password of candidates) {
    const r = await extractOnce(format, ctx, password);
    if (r.limit || !r.wrongPassword) return { ...strip(r), password };
    await emptyDir(ctx.outDir);
  }
  const error = `encrypted: none of ${candidates.length} passwords opened it`;
  if (found.headers) return { error };
  // Unpack what is not encrypted; drop what a wrong password turned into garbage.
  const r = await extractOnce(format, ctx, candidates[0]!);
  for (const entry of found.entries) {
    const path = resolve(ctx.outDir, entry);
    if (path.startsWith(ctx.outDir + '/')) await rm(path, { force: true });
  }
  return { ...strip(r), error };
}

function strip(r: ExtractOutcome & { wrongPassword: boolean }): ExtractOutcome {
  const { wrongPassword: _, ...outcome } = r;
  return outcome;
}

export function sevenZipExtractor(f: SevenZipFormat): Extractor {
  return {
    type: f.type,
    accepts: f.accepts,
    extract: (ctx) => (f.encryptable ? extractEncryptable(f.format, ctx) : extractOnce(f.format, ctx, NO_PASSWORD).then(strip)),
  };
}
