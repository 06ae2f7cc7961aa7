// One level of unpacking, on a worker thread: choose the extractor, unpack into the given folder,
// then list and hash what came out. Only regular files count: links and devices are never
// followed, and everything listed lies inside the folder (readdir of it, not archive paths).
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ContainerFacts, ExtractOutcome, Extractor } from './extractor.js';
import { HEADER_BYTES } from './extractor.js';
import { EXTRACTORS, extractorFor } from './extractors/index.js';
import { capsAtStart, type ExtractionCaps } from './limits.js';

/** What the main thread asks of one container (sent with the analyze task). */
export interface ExtractRequest {
  /** An empty folder on the blob store's filesystem (children are moved from it). */
  outDir: string;
  caps: ExtractionCaps;
  passwords: string[];
  /**
   * When the request was made (epoch ms). Time spent waiting for a thread since then does not
   * count against caps.deadline: the worker moves the deadline by it. Absent: the deadline stands.
   */
  requestedAt?: number;
}

export interface ExtractedEntry {
  /** Where the file is now (inside outDir). */
  path: string;
  /** Its path inside the container. */
  name: string;
  size: number;
  sha256: string;
  sha1: string;
  md5: string;
  /** Its timestamp inside the container (UNIX seconds); null when it had none. */
  mtime: number | null;
}

export interface Extraction extends ExtractOutcome {
  /** bundle_info.type. */
  type: string;
  /** The deadline the extraction ran under: the request's, moved by the time it waited. */
  deadline?: number;
  /** By name. Empty files are left out: there is nothing in them to hunt. */
  entries: ExtractedEntry[];
}

const chunk = Buffer.allocUnsafe(1024 * 1024);

function hashFile(path: string): { sha256: string; sha1: string; md5: string } {
  const h = { sha256: createHash('sha256'), sha1: createHash('sha1'), md5: createHash('md5') };
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, chunk, 0, chunk.length, null)) > 0; ) {
      const part = chunk.subarray(0, n);
      h.sha256.update(part);
      h.sha1.update(part);
      h.md5.update(part);
    }
  } finally {
    closeSync(fd);
  }
  return { sha256: h.sha256.digest('hex'), sha1: h.sha1.digest('hex'), md5: h.md5.digest('hex') };
}

/** Regular files under `dir`, as paths relative to it; lstat, so links are seen and skipped. */
function walk(dir: string, prefix = ''): { rel: string; size: number; mtimeMs: number }[] {
  const out: { rel: string; size: number; mtimeMs: number }[] = [];
  for (const name of readdirSync(join(dir, prefix)).sort()) {
    const rel = prefix ? `${prefix}/${name}` : name;
    const st = lstatSync(join(dir, rel));
    if (st.isDirectory()) out.push(...walk(dir, rel));
    else if (st.isFile() && st.size > 0) out.push({ rel, size: st.size, mtimeMs: st.mtimeMs });
  }
  return out;
}

function readHeader(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(HEADER_BYTES);
    return buf.subarray(0, readSync(fd, buf, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * `message` without the server's own paths: the output folder's and the container's folder (an
 * extractor's error may name them; users see bundle errors, and the server's layout is not theirs).
 */
export function withoutServerPaths(message: string, outDir: string, path: string): string {
  let out = message;
  for (const dir of [outDir, dirname(path)]) out = out.split(`${dir}/`).join('').split(dir).join('.');
  return out;
}

/** A container as its analysis found it: the extractor that takes it. */
export interface Container {
  /** bundle_info.type. */
  type: string;
  /** The extractor's place in EXTRACTORS (the same in every thread): unpacking does not choose again. */
  extractor: number;
}

/** The extractor that takes the file at `path`, or null (reads its header only). */
export function containerOf(path: string, facts: Omit<ContainerFacts, 'header'>): Container | null {
  const extractor = extractorFor({ ...facts, header: readHeader(path) });
  return extractor ? { type: extractor.type, extractor: EXTRACTORS.indexOf(extractor) } : null;
}

/**
 * Unpacks `path` one level if it is a container (null when it is not). Failures of the extractor
 * become `error`; only a failure to use outDir itself throws.
 */
export async function extractFile(path: string, facts: Omit<ContainerFacts, 'header'>, req: ExtractRequest): Promise<Extraction | null> {
  const extractor = extractorFor({ ...facts, header: readHeader(path) });
  return extractor ? extractWith(extractor, path, facts.size, req) : null;
}

/** Unpacks `path` one level with the extractor its analysis chose (containerOf). */
export async function extractContainer(path: string, container: Container, size: number, req: ExtractRequest): Promise<Extraction> {
  const extractor = EXTRACTORS[container.extractor];
  if (!extractor) throw new Error(`no extractor #${container.extractor}`);
  return extractWith(extractor, path, size, req);
}

async function extractWith(extractor: Extractor, path: string, size: number, req: ExtractRequest): Promise<Extraction> {
  const caps = capsAtStart(req.caps, req.requestedAt);
  await mkdir(req.outDir, { recursive: true });
  // Extractors stamp files with the time stored for them, or with now when there was none.
  const started = Date.now() - 2000;
  let outcome: ExtractOutcome;
  try {
    outcome = await extractor.extract({ path, size, outDir: req.outDir, caps, passwords: req.passwords });
  } catch (err) {
    outcome = { error: `${extractor.type} unpacking failed: ${(err as Error).message}` };
  }
  if (outcome.error) outcome.error = withoutServerPaths(outcome.error, req.outDir, path);
  const entries = walk(req.outDir).map(({ rel, size, mtimeMs }): ExtractedEntry => {
    const p = join(req.outDir, rel);
    return { path: p, name: rel, size, ...hashFile(p), mtime: mtimeMs >= started || mtimeMs <= 0 ? null : Math.floor(mtimeMs / 1000) };
  });
  return { type: extractor.type, entries, deadline: caps.deadline, ...outcome };
}
