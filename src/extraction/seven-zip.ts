// 7-Zip (the 7z-wasm build of 7-Zip 24.09) as a library, on a worker thread. One WebAssembly
// instance per thread, reused across archives. The host filesystem is mounted (NODEFS), so
// archives are read and files written on disk: memory holds 7-Zip's buffers, never whole files.
//
// Limits are enforced inside 7-Zip's own writes: every file it creates and every write is counted
// against an OutputBudget (output-guard.ts, shared with the other extractors), which throws once
// the archive has produced too many files or bytes, or ran out of time. The throw unwinds out of
// 7-Zip mid-stream (a 10 GB gzip of zeros stops at the cap, not at its end); an
// instance that was unwound is discarded, since its C++ state is no longer trustworthy.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { EntryPaths } from './entry-paths.js';
import type { ExtractionCaps, LimitHit } from './limits.js';
import { LimitExceeded, OutputBudget } from './output-guard.js';

const require = createRequire(import.meta.url);

/** The part of the Emscripten module we use; 7z-wasm's own typings describe it only loosely. */
interface EmFs {
  mkdir(path: string, mode?: number): unknown;
  stat(path: string, dontFollow?: boolean): unknown;
  lstat(path: string): unknown;
  utime(path: string, atime: number, mtime: number): void;
  chmod(path: string, mode: number, dontFollow?: boolean): void;
  mount(type: unknown, opts: { root: string }, mountpoint: string): void;
  unmount(mountpoint: string): void;
  write(stream: { path?: string }, buf: ArrayBufferView, off: number, len: number, pos?: number, canOwn?: boolean): number;
  open(path: string, flags: string | number, mode?: number): { path?: string };
  symlink(oldpath: string, newpath: string): void;
}
interface SevenZipModule {
  FS: EmFs;
  NODEFS: unknown;
  callMain(args: string[]): number;
}
type Factory = (opts: Record<string, unknown>) => Promise<SevenZipModule>;

const HOST = '/host';
const O_CREAT = 0o100;

class OutputGuard {
  readonly budget: OutputBudget;
  /** Host path of the file being written when a limit stopped the run (it is incomplete). */
  partial: string | null = null;
  /** The output folder on the mount, and where its entries' colliding folders went. */
  readonly out: { mounted: string; paths: EntryPaths } | null;
  constructor(caps: ExtractionCaps, outDir?: string) {
    this.budget = new OutputBudget(caps);
    this.out = outDir ? { mounted: HOST + outDir, paths: new EntryPaths(outDir) } : null;
  }

  /** The entry path (relative to the output folder) of a mounted path inside it, else null. */
  private rel(path: unknown): string | null {
    // Emscripten's FS functions also take nodes instead of paths (FS.open chmods the node it made).
    if (!this.out || typeof path !== 'string' || !path.startsWith(this.out.mounted + '/')) return null;
    return path.slice(this.out.mounted.length + 1);
  }

  /**
   * A folder 7-Zip creates: made by EntryPaths, which renames it when a file took its name (7-Zip
   * itself fails on `a/b` after a file `a`, and loses every entry under `a/`). True when handled.
   */
  mkdir(path: unknown): boolean {
    const rel = this.rel(path);
    if (rel === null) return false;
    this.out!.paths.dir(rel);
    return true;
  }

  /** `path` with its folders as EntryPaths placed them (for opening, stat, times, modes). */
  mapped<P>(path: P): P | string {
    const rel = this.rel(path);
    if (rel === null || !rel.includes('/')) return path;
    const parent = this.out!.paths.renamed(rel.slice(0, rel.lastIndexOf('/')));
    return parent === null ? path : HOST + parent + rel.slice(rel.lastIndexOf('/'));
  }
}

export interface SevenZipRun {
  /** 7-Zip's exit code (0 ok, 1 warning, 2 fatal error); -1 when a limit stopped it. */
  code: number;
  /** What 7-Zip printed (stdout and stderr), line by line. */
  lines: string[];
  limit?: LimitHit;
  /** Host path of a file left incomplete by a limit. */
  partial?: string | null;
}

let factory: Factory | undefined;
let wasmBinary: Buffer | undefined;
interface Instance {
  module: SevenZipModule;
  lines: string[];
  guard: OutputGuard | null;
}
let instance: Instance | undefined;

async function load(): Promise<Instance> {
  if (instance) return instance;
  factory ??= require('7z-wasm') as Factory;
  wasmBinary ??= readFileSync(require.resolve('7z-wasm/7zz.wasm'));
  const lines: string[] = [];
  const module = await factory({ wasmBinary, print: (s: string) => lines.push(s), printErr: (s: string) => lines.push(s), stdin: () => null });
  module.FS.mkdir(HOST);
  module.FS.mount(module.NODEFS, { root: '/' }, HOST);
  const inst: Instance = { module, lines, guard: null };
  const fs = module.FS;
  const write = fs.write.bind(fs);
  fs.write = (stream, buf, off, len, pos, canOwn) => {
    const g = inst.guard;
    if (g && stream.path?.startsWith(HOST)) {
      try {
        g.budget.add(len);
      } catch (err) {
        g.partial = stream.path.slice(HOST.length);
        throw err;
      }
    }
    return write(stream, buf, off, len, pos, canOwn);
  };
  const open = fs.open.bind(fs);
  fs.open = (path, flags, mode) => {
    const g = inst.guard;
    const creates = typeof flags === 'string' ? /[wa]/.test(flags) : (flags & O_CREAT) !== 0;
    if (g && creates) g.budget.file();
    return open(g ? g.mapped(path) : path, flags, mode);
  };
  const mkdir = fs.mkdir.bind(fs);
  fs.mkdir = (path, mode) => (inst.guard?.mkdir(path) ? undefined : mkdir(path, mode));
  const stat = fs.stat.bind(fs);
  fs.stat = (path, dontFollow) => stat(inst.guard ? inst.guard.mapped(path) : path, dontFollow);
  const lstat = fs.lstat.bind(fs);
  fs.lstat = (path) => lstat(inst.guard ? inst.guard.mapped(path) : path);
  const utime = fs.utime.bind(fs);
  fs.utime = (path, atime, mtime) => utime(inst.guard ? inst.guard.mapped(path) : path, atime, mtime);
  const chmod = fs.chmod.bind(fs);
  fs.chmod = (path, mode, dontFollow) => chmod(inst.guard ? inst.guard.mapped(path) : path, mode, dontFollow);
  // Links in archives (tar, zip, ISO) are never materialised: a link could point outside the
  // output folder, and its target, if it is in the archive at all, is extracted as a file.
  fs.symlink = () => undefined;
  instance = inst;
  return inst;
}

/**
 * Runs 7-Zip with `args`, where `{in}`-style host paths are given as absolute paths and mapped
 * onto the mount. Output limits apply when `caps` is given; entries written under `outDir` whose
 * paths collide are placed by EntryPaths.
 */
export async function runSevenZip(args: readonly string[], caps?: ExtractionCaps, outDir?: string): Promise<SevenZipRun> {
  const inst = await load();
  // A fresh mount per run: Emscripten caches the nodes it looked up, which would grow with every
  // archive and go stale when files are moved or deleted behind its back (by the main thread).
  inst.module.FS.unmount(HOST);
  inst.module.FS.mount(inst.module.NODEFS, { root: '/' }, HOST);
  inst.lines.length = 0;
  const guard = caps ? new OutputGuard(caps, outDir) : null;
  inst.guard = guard;
  const mapped = args.map((a) => (a.startsWith('/') ? HOST + a : a.replace(/^-o\//, `-o${HOST}/`)));
  try {
    const code = inst.module.callMain(mapped);
    return { code, lines: [...inst.lines] };
  } catch (err) {
    instance = undefined; // unwound mid-run: start a fresh instance next time
    if (err instanceof LimitExceeded) return { code: -1, lines: [...inst.lines], limit: err.limit, partial: guard?.partial ?? null };
    // A C++ exception (a bare number): this build cannot catch exceptions, so even errors 7-Zip
    // would recover from (a truncated zip) end the run here, often before it printed why.
    return { code: 2, lines: [...inst.lines] };
  } finally {
    inst.guard = null;
  }
}

const REPORT_LINES = /^(Headers Size|Path|Type|Physical Size|Characteristics|Archives with Errors|Open Errors|Sub items Errors|Errors|Warnings) /i;
const TROUBLE = /error|cannot|can not|unexpected|unsupported|wrong password|crc failed|is not archive|data after|headers/i;

/** 7-Zip's message lines that explain a failure (without its banner, report fields and our mount paths). */
export function errorLines(lines: readonly string[]): string[] {
  const out = lines
    .map((l) => l.trim().replace(/\/host\/\S*/g, '').replace(/\s*:\s*$/, '').trim())
    .filter((l) => l && l !== '--' && !/^(ERRORS?|WARNINGS?)$/i.test(l) && !REPORT_LINES.test(l) && TROUBLE.test(l));
  return [...new Set(out)];
}

/** True when 7-Zip's output says a password was wrong (or needed and missing). */
export function wrongPassword(lines: readonly string[]): boolean {
  return lines.some((l) => /wrong password|in encrypted file/i.test(l));
}
