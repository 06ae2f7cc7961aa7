// A minimal binding to libmagic through koffi: file(1)'s descriptions and MIME types. libmagic
// cookies are not thread-safe, so every thread opens its own `Libmagic`.
//
// Two builds can serve: Trawl's own (native/libmagic, made by scripts/install-deps.sh: file 5.44
// with two speed-ups that change no answer, 2-3x faster) and, when that one is missing or will
// not load, Debian's libmagic.so.1. Both read Debian's compiled database.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import koffi, { type LibraryHandle, type TypeObject } from 'koffi';

/** libmagic flags we use (magic.h). */
const MAGIC_NONE = 0x0;
const MAGIC_MIME_TYPE = 0x10;
/** Report errors (unreadable file) as errors instead of describing them as "cannot open ...". */
const MAGIC_ERROR = 0x200;

/** magic_setparam: how many bytes of a file libmagic looks at. */
const MAGIC_PARAM_BYTES_MAX = 6;
/**
 * libmagic 5.41+ reads up to 7 MiB of every file; 1 MiB (the default of 5.40 and before) gave the
 * same descriptions as `file -b` on 1,500 files of /usr over 64 KB, at a sixth of the cost.
 */
export const DEFAULT_BYTES_MAX = 1024 * 1024;

/** Debian's library (package libmagic1). */
export const SYSTEM_LIBMAGIC = 'libmagic.so.1';

/** Where scripts/install-deps.sh leaves Trawl's build, from dist/src/... or src/... */
const BUNDLED_CANDIDATES = ['../../../../', '../../../'].map((up) =>
  fileURLToPath(new URL(`${up}native/libmagic/build/libmagic-trawl.so`, import.meta.url)),
);

/** Trawl's build of libmagic when it has been built, else undefined. */
export function bundledLibmagic(): string | undefined {
  return BUNDLED_CANDIDATES.find((path) => existsSync(path));
}

interface Bindings {
  /** The library these functions come from (a path, or the system library's name). */
  library: string;
  open(flags: number): unknown;
  load(cookie: unknown, database: string | null): number;
  file(cookie: unknown, path: string): string | null;
  buffer(cookie: unknown, data: Uint8Array, length: number): string | null;
  error(cookie: unknown): string | null;
  setflags(cookie: unknown, flags: number): number;
  setparam(cookie: unknown, param: number, value: Buffer): number;
  close(cookie: unknown): void;
}

/** Loaded libraries of this thread (koffi function objects belong to the loading isolate). */
const loaded = new Map<string, Bindings>();
let magicType: TypeObject | undefined;

function bindLibrary(library: string): Bindings {
  const known = loaded.get(library);
  if (known) return known;
  const lib: LibraryHandle = koffi.load(library);
  // `magic_t` is an opaque pointer; koffi 3 hands it back as a bigint.
  magicType ??= koffi.pointer('magic_t', koffi.opaque('magic_set'));
  const bindings: Bindings = {
    library,
    open: lib.func('magic_t magic_open(int flags)'),
    load: lib.func('int magic_load(magic_t cookie, const char *database)'),
    file: lib.func('const char *magic_file(magic_t cookie, const char *path)'),
    buffer: lib.func('const char *magic_buffer(magic_t cookie, const void *data, size_t length)'),
    error: lib.func('const char *magic_error(magic_t cookie)'),
    setflags: lib.func('int magic_setflags(magic_t cookie, int flags)'),
    setparam: lib.func('int magic_setparam(magic_t cookie, int param, const void *value)'),
    close: lib.func('void magic_close(magic_t cookie)'),
  };
  loaded.set(library, bindings);
  return bindings;
}

/** The library asked for; by default Trawl's build, or Debian's when it is missing or will not load. */
function bind(library: string | undefined): Bindings {
  if (library) return bindLibrary(library);
  const bundled = bundledLibmagic();
  if (bundled) {
    try {
      return bindLibrary(bundled);
    } catch {
      // Built for another machine, say: Debian's library gives the same answers, slower.
    }
  }
  try {
    return bindLibrary(SYSTEM_LIBMAGIC);
  } catch (err) {
    throw new Error(
      `cannot load ${SYSTEM_LIBMAGIC} (${(err as Error).message}); install Debian's libmagic1 package ` +
        '(apt-get install libmagic1)',
    );
  }
}

/** One libmagic cookie with a fixed flag set. */
class Cookie {
  private handle: unknown;

  constructor(
    private readonly lib: Bindings,
    flags: number,
    database: string | null,
    bytesMax: number,
  ) {
    const handle = lib.open(MAGIC_NONE);
    if (!handle) throw new Error('libmagic: magic_open failed (out of memory?)');
    this.handle = handle;
    try {
      // Flags go through magic_setflags so an unsupported combination fails here, not per call.
      if (lib.setflags(handle, flags) !== 0) this.fail(`magic_setflags(0x${flags.toString(16)})`);
      if (lib.load(handle, database) !== 0) this.fail(`magic_load(${database ?? 'default database'})`);
      const value = Buffer.alloc(8);
      value.writeBigUInt64LE(BigInt(bytesMax));
      if (lib.setparam(handle, MAGIC_PARAM_BYTES_MAX, value) !== 0) this.fail(`magic_setparam(bytes_max=${bytesMax})`);
    } catch (err) {
      this.close();
      throw err;
    }
  }

  file(path: string): string {
    return this.lib.file(this.live(), path) ?? this.fail(`magic_file(${path})`);
  }

  buffer(data: Uint8Array): string {
    return this.lib.buffer(this.live(), data, data.length) ?? this.fail('magic_buffer');
  }

  close(): void {
    if (this.handle !== undefined) this.lib.close(this.handle);
    this.handle = undefined;
  }

  private live(): unknown {
    if (this.handle === undefined) throw new Error('libmagic: used after close()');
    return this.handle;
  }

  private fail(what: string): never {
    const detail = this.handle === undefined ? null : this.lib.error(this.handle);
    throw new Error(`libmagic: ${what} failed: ${detail ?? 'unknown error'}`);
  }
}

/** Options for {@link Libmagic}. */
export interface LibmagicOptions {
  /** Compiled magic database; the library's default (/usr/share/misc/magic.mgc) when absent. */
  database?: string;
  /** How many bytes of each file libmagic examines (default {@link DEFAULT_BYTES_MAX}). */
  bytesMax?: number;
  /** A library to use instead of the default choice (benchmarks compare the two builds). */
  library?: string;
}

/**
 * file(1) in-process. Holds two cookies (description and MIME type) so no call switches flags.
 * Not thread-safe: open one per thread. Symlinks are described as links, as file(1) does.
 */
export class Libmagic {
  private readonly text: Cookie;
  private readonly mimeType: Cookie;
  /** The library in use: Trawl's build (a path) or {@link SYSTEM_LIBMAGIC}. */
  readonly library: string;

  /** @throws Error naming the Debian package when libmagic.so.1 cannot be loaded. */
  constructor(options: LibmagicOptions = {}) {
    const database = options.database ?? null;
    const bytesMax = options.bytesMax ?? DEFAULT_BYTES_MAX;
    let lib = bind(options.library);
    let cookies: [Cookie, Cookie];
    try {
      cookies = Libmagic.open(lib, database, bytesMax);
    } catch (err) {
      // Trawl's build cannot read this database (a newer format after a Debian upgrade, say):
      // Debian's own library can.
      if (options.library || lib.library === SYSTEM_LIBMAGIC) throw err;
      lib = bind(SYSTEM_LIBMAGIC);
      cookies = Libmagic.open(lib, database, bytesMax);
    }
    this.library = lib.library;
    [this.text, this.mimeType] = cookies;
  }

  private static open(lib: Bindings, database: string | null, bytesMax: number): [Cookie, Cookie] {
    const text = new Cookie(lib, MAGIC_NONE | MAGIC_ERROR, database, bytesMax);
    try {
      return [text, new Cookie(lib, MAGIC_MIME_TYPE | MAGIC_ERROR, database, bytesMax)];
    } catch (err) {
      text.close();
      throw err;
    }
  }

  /** What `file -b <path>` prints, e.g. "ELF 64-bit LSB pie executable, x86-64, ...". */
  describe(path: string): string {
    return this.text.file(path);
  }

  /** What `file -b --mime-type <path>` prints, e.g. "application/x-pie-executable". */
  mime(path: string): string {
    return this.mimeType.file(path);
  }

  /** {@link describe} for content in memory. */
  describeBuffer(data: Uint8Array): string {
    return this.text.buffer(data);
  }

  /** {@link mime} for content in memory. */
  mimeBuffer(data: Uint8Array): string {
    return this.mimeType.buffer(data);
  }

  /** Frees both cookies; the object is unusable afterwards. */
  close(): void {
    this.text.close();
    this.mimeType.close();
  }
}
