// Unpacking speed, side by side with Debian's `7z x` (p7zip) on the same archives: real .deb
// packages from apt's cache, and zip, 7z and tar.xz archives made (by 7z and tar) from
// /usr/share. Both sides unpack one level (a .deb yields its data.tar.*, a .tar.xz its .tar), one
// archive at a time (a .deb to its data.tar on both sides, see trawl()); Trawl's side is the code the analysis threads run (extractFile: 7-Zip's
// WebAssembly build, or node's zlib for zip and gzip, on one thread, with limits, then listing
// and hashing every output). The
// figure is uncompressed MB written per second.
// Env: BENCH_DEB_MB (150), BENCH_SHARE_MB (120).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractFile } from '../src/extraction/extract-file.js';
import { corpus } from './corpora/corpus.js';
import { MB, need, table, verdict } from './lib/lib.js';

const DEB_MB = Number(process.env.BENCH_DEB_MB ?? 150);
const SHARE_MB = Number(process.env.BENCH_SHARE_MB ?? 120);
const work = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'trawl-unpack-'));

function run(cmd: string, args: string[], cwd?: string): void {
  const r = spawnSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

function duBytes(dir: string): number {
  let n = 0;
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    n += d.isDirectory() ? duBytes(p) : d.isFile() ? statSync(p).size : 0;
  }
  return n;
}

interface Archive { kind: string; path: string }

function buildCorpus(): Archive[] {
  const archives: Archive[] = [];
  const debDir = '/var/cache/apt/archives';
  let debBytes = 0;
  for (const name of readdirSync(debDir).filter((n) => n.endsWith('.deb')).sort()) {
    const path = join(debDir, name);
    const size = statSync(path).size;
    if (size < 256 * 1024 || debBytes + size > DEB_MB * MB) continue;
    archives.push({ kind: 'deb', path });
    debBytes += size;
  }
  // The same /usr/share files, packed three ways.
  const files = corpus({ roots: ['/usr/share'], sizes: ['+1k'], maxBytes: SHARE_MB * MB });
  const list = join(work, 'files.txt');
  writeFileSync(list, files.map((f) => f.path.slice(1)).join('\n'));
  for (const [kind, file, args] of [
    ['zip', 'share.zip', ['a', '-tzip', '-mx=5']],
    ['7z', 'share.7z', ['a', '-t7z', '-mx=5']],
  ] as const) {
    run('7z', [...args, join(work, file), `@${list}`], '/');
    archives.push({ kind, path: join(work, file) });
  }
  run('tar', ['-cJf', join(work, 'share.tar.xz'), '-C', '/', '-T', list]);
  archives.push({ kind: 'tar.xz', path: join(work, 'share.tar.xz') });
  return archives;
}

function native(a: Archive, out: string): number {
  const t = performance.now();
  run('7z', ['x', '-y', `-o${out}`, a.path]);
  return (performance.now() - t) / 1000;
}

async function unpack(path: string, out: string) {
  const caps = { maxFiles: 1_000_000, maxBytes: 64 * 1024 * MB, bytesLimit: 'bytes' as const, deadline: Date.now() + 3_600_000 };
  const r = await extractFile(path, { magic: '', mime: '', size: statSync(path).size }, { outDir: out, caps, passwords: [] });
  if (!r || r.error || r.limit) throw new Error(`${path}: ${JSON.stringify(r && { error: r.error, limit: r.limit })}`);
  return r;
}

/**
 * Trawl's side. p7zip's `7z x` opens a .deb straight to its data.tar (decompressed); Trawl
 * unpacks the ar first and then each compressed member, as its recursion does: both levels are
 * timed, so both sides end with the same data.tar.
 */
async function trawl(a: Archive, out: string): Promise<number> {
  const t = performance.now();
  const r = await unpack(a.path, out);
  if (a.kind === 'deb') {
    for (const e of r.entries.filter((e) => /\.tar\.(xz|gz|zst|bz2)$/.test(e.name))) await unpack(e.path, `${out}/${e.name}.d`);
  }
  return (performance.now() - t) / 1000;
}

async function main(): Promise<void> {
  need('7z', 'p7zip-full');
  need('xz', 'xz-utils');
  const archives = buildCorpus();
  const totals = new Map<string, { n: number; inBytes: number; outBytes: number; native: number; trawl: number }>();
  for (const a of archives) {
    const t = totals.get(a.kind) ?? { n: 0, inBytes: 0, outBytes: 0, native: 0, trawl: 0 };
    // Warm the page cache for both, then alternate who goes first.
    const o1 = join(work, 'o1');
    const o2 = join(work, 'o2');
    for (const o of [o1, o2]) rmSync(o, { recursive: true, force: true });
    mkdirSync(o1);
    const first = t.n % 2 === 0;
    if (first) t.native += native(a, o1);
    t.trawl += await trawl(a, o2);
    if (!first) t.native += native(a, o1);
    t.outBytes += duBytes(o1);
    t.inBytes += statSync(a.path).size;
    t.n += 1;
    totals.set(a.kind, t);
  }
  const rows: (string | number)[][] = [];
  let nat = 0;
  let trw = 0;
  let out = 0;
  for (const [kind, t] of totals) {
    rows.push([kind, t.n, (t.inBytes / MB).toFixed(0), (t.outBytes / MB).toFixed(0), (t.outBytes / MB / t.native).toFixed(1), (t.outBytes / MB / t.trawl).toFixed(1), (t.native / t.trawl).toFixed(2)]);
    nat += t.native;
    trw += t.trawl;
    out += t.outBytes;
  }
  rows.push(['all', archives.length, '', (out / MB).toFixed(0), (out / MB / nat).toFixed(1), (out / MB / trw).toFixed(1), (nat / trw).toFixed(2)]);
  table('Unpacking: 7z x (p7zip) vs Trawl (one thread, hashing every output)', [
    ['archives', 'count', 'in MB', 'out MB', '7z x MB/s', 'Trawl MB/s', 'Trawl/7z'],
    ...rows,
  ]);
  console.log(`target >= 0.5x 7z x: ${verdict(nat / trw >= 0.5)} (${(nat / trw).toFixed(2)}x)`);
  rmSync(work, { recursive: true, force: true });
}

await main();
