// Corpora of real files for the benchmarks: regular files under system folders, one per inode, in
// a fixed pseudo-random order (sorted by the sha1 of the path), so every run picks the same ones.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { MB } from '../lib/lib.js';

export interface CorpusFile {
  path: string;
  size: number;
}

export interface CorpusOptions {
  roots: string[];
  /** find(1) -size bounds, e.g. '+64k' or '-16k'. */
  sizes: string[];
  /** Stop once this many bytes or files are picked. */
  maxBytes?: number;
  maxFiles?: number;
  /** Skip files larger than this (the largest upload Trawl takes by default). */
  maxFileBytes?: number;
}

export function corpus(o: CorpusOptions): CorpusFile[] {
  const sizeArgs = o.sizes.flatMap((s) => ['-size', s]);
  const out = execFileSync('find', [...o.roots, '-type', 'f', ...sizeArgs, '-printf', '%s %i %p\\0'], { maxBuffer: 1 << 28 }).toString();
  const seen = new Set<string>();
  const all = out.split('\0').filter(Boolean).map((l) => {
    const [size, ino, ...p] = l.split(' ');
    return { path: p.join(' '), size: Number(size), ino: ino!, k: createHash('sha1').update(p.join(' ')).digest('hex') };
  }).filter((f) => f.size > 0 && f.size <= (o.maxFileBytes ?? 650 * MB) && !seen.has(f.ino) && seen.add(f.ino)).sort((a, b) => (a.k < b.k ? -1 : 1));
  const picked: CorpusFile[] = [];
  let total = 0;
  for (const f of all) {
    if (o.maxBytes !== undefined && total >= o.maxBytes) break;
    if (o.maxFiles !== undefined && picked.length >= o.maxFiles) break;
    picked.push({ path: f.path, size: f.size });
    total += f.size;
  }
  return picked;
}

/** The ~500 MB corpus of the intake and hunting benchmarks: files >= 64 KB of /usr/lib and /usr/bin. */
export const largeCorpus = (mb: number) => corpus({ roots: ['/usr/lib', '/usr/bin'], sizes: ['+64k'], maxBytes: mb * MB });

/** Small real files (1 byte to 16 KB) of /usr/bin, /usr/lib and /usr/share. */
export const smallCorpus = (n: number) => corpus({ roots: ['/usr/bin', '/usr/lib', '/usr/share'], sizes: ['-16k'], maxFiles: n });

/** A rule collection's files (`.yar`, `.yara`) in name order, each a ruleset's source. */
export function ruleCollection(dir: string): { name: string; rules: string }[] {
  return readdirSync(dir).filter((f) => /\.ya?ra?$/.test(f)).sort().map((name) => ({ name, rules: readFileSync(join(dir, name), 'utf8') }));
}
