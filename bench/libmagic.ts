// libmagic's cost per file, description and MIME type (the two calls an analysis makes), in
// process on one thread: Debian's libmagic.so.1 against Trawl's build (native/libmagic), rounds
// alternated, on the corpora of bench/real-rules.ts (4,000 small files of /usr/share with the
// members of their gzip files, which Trawl analyses too; 150 files >= 64 KB of /usr/lib and
// /usr/bin) and on man pages. Beside them, what `file -b` and `file -b --mime-type` over the same
// list cost (the unix pipeline's typing step). Every answer of the two builds is compared too.
// Usage: node dist/bench/libmagic.js [rounds=3]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Libmagic, SYSTEM_LIBMAGIC, bundledLibmagic } from '../src/analysis/analyzers/libmagic.js';
import { corpus } from './corpora/corpus.js';
import { ownThreadCpuSeconds, table } from './lib/lib.js';

const rounds = Number(process.argv[2] ?? 3);
const bundled = bundledLibmagic();
if (!bundled) throw new Error('native/libmagic is not built: run `make deps` (scripts/install-deps.sh)');
const dir = mkdtempSync(join(tmpdir(), 'trawl-bench-libmagic-'));

/** Files and, for each gzip file among them, its member (what Trawl's unpacking hands to analysis). */
function withMembers(paths: string[], sub: string): string[] {
  mkdirSync(join(dir, sub));
  const out = [...paths];
  for (const path of paths) {
    if (!path.endsWith('.gz')) continue;
    try {
      const member = join(dir, sub, String(out.length));
      writeFileSync(member, gunzipSync(readFileSync(path)));
      out.push(member);
    } catch {
      // not a gzip stream after all: Trawl would keep the file alone
    }
  }
  return out;
}

const corpora: [string, string[]][] = [
  ['4,000 small files of /usr/share + gzip members', withMembers(corpus({ roots: ['/usr/share'], sizes: ['-16k'], maxFiles: 4000 }).map((f) => f.path), 'small')],
  ['150 files >= 64 KB of /usr/lib, /usr/bin', corpus({ roots: ['/usr/lib', '/usr/bin'], sizes: ['+64k'], maxFiles: 150 }).map((f) => f.path)],
  ['1,000 man pages, unpacked', withMembers(corpus({ roots: ['/usr/share/man'], sizes: ['-1000k'], maxFiles: 1000 }).map((f) => f.path), 'man').filter((p) => p.startsWith(dir))],
];

/**
 * CPU ms of this thread per file for both calls, and the answers. CPU, not wall time: the
 * machine is shared, and a thread waiting for a core is not libmagic's cost. Small lists are
 * gone through several times so that a round outlasts the clock's 10 ms steps.
 */
function run(magic: Libmagic, paths: string[]): { ms: number; answers: string[] } {
  const answers: string[] = [];
  const times = Math.ceil(3000 / paths.length);
  const t0 = ownThreadCpuSeconds();
  for (let k = 0; k < times; k++) {
    for (const path of paths) {
      const answer = `${magic.describe(path)}\t${magic.mime(path)}`;
      if (k === 0) answers.push(answer);
    }
  }
  return { ms: ((ownThreadCpuSeconds() - t0) * 1e3) / paths.length / times, answers };
}

/** CPU ms per file of `file -b` then `file -b --mime-type` over the list (the shell's `times`). */
function fileCli(paths: string[]): number {
  const list = join(dir, 'list');
  writeFileSync(list, `${paths.join('\n')}\n`);
  const script = `file -b -f "$1" >/dev/null; file -b --mime-type -f "$1" >/dev/null; times`;
  // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.100s".
  const children = execFileSync('sh', ['-c', script, 'sh', list], { encoding: 'utf8' }).trim().split('\n')[1]!;
  const seconds = (t: string) => {
    const [, m, s] = /^(\d+)m([\d.]+)s$/.exec(t)!;
    return Number(m) * 60 + Number(s);
  };
  const [user, system] = children.split(' ');
  return ((seconds(user!) + seconds(system!)) * 1e3) / paths.length;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const system = new Libmagic({ library: SYSTEM_LIBMAGIC });
const ours = new Libmagic({ library: bundled });
const rows: (string | number)[][] = [['corpus', 'files', "Debian's CPU ms/file", "Trawl's CPU ms/file", 'cost vs Debian', '`file` CLI CPU ms/file', 'answers differing']];
try {
  for (const [name, paths] of corpora) {
    run(system, paths.slice(0, 50)); // page the database in for both
    run(ours, paths.slice(0, 50));
    const a: number[] = [];
    const b: number[] = [];
    let differing = 0;
    for (let r = 0; r < rounds; r++) {
      const first = r % 2 === 0;
      const x = first ? run(system, paths) : undefined;
      const y = run(ours, paths);
      const z = x ?? run(system, paths);
      a.push(z.ms);
      b.push(y.ms);
      if (r === 0) differing = z.answers.filter((s, i) => s !== y.answers[i]).length;
    }
    const cli = fileCli(paths);
    rows.push([name, paths.length, median(a), median(b), `${((median(b) / median(a)) * 100).toFixed(0)}%`, cli, differing]);
    console.log(`${name}: Debian ${a.map((x) => x.toFixed(3)).join(' ')}; Trawl ${b.map((x) => x.toFixed(3)).join(' ')} ms/file`);
  }
} finally {
  system.close();
  ours.close();
  rmSync(dir, { recursive: true, force: true });
}
table(`libmagic, description + MIME type, one thread, median of ${rounds} alternated rounds`, rows);
