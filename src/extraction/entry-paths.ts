// Where archive entries land inside the output folder when their paths collide. An archive may
// hold `a` and then `a/b` (a folder where a file already is), the same name twice, or names that
// differ only in case; an attacker puts the payload after such a pair, hoping the unpacker stops.
// Nothing stops: a folder whose name a file took becomes `a_1` (and every later entry under `a/`
// goes there too), and a file whose name is taken becomes `name_1`, `name_2`, ...
import { constants, lstatSync, mkdirSync, openSync } from 'node:fs';

/** Gives up renaming after this many tries (a name taken 1,000 times is an attack, not an archive). */
const MAX_RENAMES = 1000;

function isDir(path: string): boolean | null {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return null;
  }
}

const code = (err: unknown) => (err as NodeJS.ErrnoException).code;

export class EntryPaths {
  /** Entry folder (relative, '/'-separated) -> the folder on disk it went to. */
  private readonly dirs = new Map<string, string>();

  /** @param outDir The output folder, which exists. */
  constructor(private readonly outDir: string) {}

  /** The folder on disk for the entry folder `rel` ('' is the output folder), made when missing. */
  dir(rel: string): string {
    if (!rel) return this.outDir;
    const known = this.dirs.get(rel);
    if (known) return known;
    const slash = rel.lastIndexOf('/');
    const parent = this.dir(slash < 0 ? '' : rel.slice(0, slash));
    const name = rel.slice(slash + 1);
    for (let n = 0; n <= MAX_RENAMES; n++) {
      const path = `${parent}/${n === 0 ? name : `${name}_${n}`}`;
      const found = isDir(path);
      if (found === false) continue; // a file took the name
      if (found === null) {
        try {
          mkdirSync(path);
        } catch (err) {
          if (code(err) !== 'EEXIST') throw err;
          if (!isDir(path)) continue;
        }
      }
      this.dirs.set(rel, path);
      return path;
    }
    throw new Error(`too many entries named ${name}`);
  }

  /** Where the entry folder `rel` went, without making anything; null when it was not renamed. */
  renamed(rel: string): string | null {
    for (let at = rel.length; at > 0; at = rel.lastIndexOf('/', at - 1)) {
      const prefix = rel.slice(0, at);
      const dir = this.dirs.get(prefix);
      if (dir !== undefined) return dir === `${this.outDir}/${prefix}` ? null : `${dir}${rel.slice(at)}`;
    }
    return null;
  }

  /** A new file for the entry at `rel` (its folder made as by dir()), open for writing. */
  create(rel: string): { path: string; fd: number } {
    const slash = rel.lastIndexOf('/');
    const dir = this.dir(slash < 0 ? '' : rel.slice(0, slash));
    const name = rel.slice(slash + 1);
    for (let n = 0; n <= MAX_RENAMES; n++) {
      const path = `${dir}/${n === 0 ? name : `${name}_${n}`}`;
      try {
        return { path, fd: openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL) };
      } catch (err) {
        if (code(err) !== 'EEXIST' && code(err) !== 'EISDIR') throw err;
      }
    }
    throw new Error(`too many entries named ${name}`);
  }
}
