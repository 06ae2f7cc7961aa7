// The reference engine of the differential tests and benchmarks: Debian's `yara` 4.x command,
// and Trawl's own hunting path (the compile thread's compileToShared and a scanning thread's
// Matcher) over the same rulesets and bytes, each answering "which (file, ruleset, rule) matched".
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { compileToShared } from '../../src/hunting/engine/shared-compile.js';
import { Matcher } from '../../src/hunting/scan/matcher.js';
import type { ScanVariables } from '../../src/hunting/scan/scan-variables.js';

const run = promisify(execFile);

/** A ruleset as both engines get it: its id is the namespace in the yara run. */
export interface CaseRuleset {
  id: number;
  source: string;
}

/** A match as `file index \t ruleset id \t rule name`, comparable across engines. */
export type MatchKey = string;
export const matchKey = (file: number, rulesetId: number, rule: string): MatchKey => `${file}\t${rulesetId}\t${rule}`;

/** The version line of Debian's `yara`, or null when it is not installed. */
export async function referenceYaraVersion(): Promise<string | null> {
  try {
    return (await run('yara', ['--version'])).stdout.trim();
  } catch {
    return null;
  }
}

/** `-d` arguments giving yara (or yarac) the same variable values Trawl's scan gets. */
export function yaraDefines(variables: ScanVariables): string[] {
  return Object.entries(variables).flatMap(([k, v]) => ['-d', `${k}=${v}`]);
}

/**
 * Matches of Debian's `yara` over `files` (each ruleset in its own namespace `n<id>`). Rulesets
 * yara refuses are returned in `refused` and left out of the scan.
 */
export async function yaraMatches(rulesets: readonly CaseRuleset[], files: readonly Uint8Array[], variables: ScanVariables = {}): Promise<{ matches: Set<MatchKey>; refused: Map<number, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'trawl-yara-'));
  try {
    const args = ['-e', '-w', '--no-follow-symlinks', ...yaraDefines(variables)];
    const rulePath = (id: number) => join(dir, `r${id}.yar`);
    await Promise.all(rulesets.map((r) => writeFile(rulePath(r.id), r.source)));
    const filePaths = files.map((_, i) => join(dir, `f${i}`));
    await Promise.all(files.map((f, i) => writeFile(filePaths[i]!, f)));
    const list = join(dir, 'files.txt');
    await writeFile(list, filePaths.join('\n') + '\n');
    const scan = (ids: number[]) => run('yara', [...args, '--scan-list', ...ids.map((id) => `n${id}:${rulePath(id)}`), list], { maxBuffer: 256 * 1024 * 1024 });

    const refused = new Map<number, string>();
    let accepted = rulesets.map((r) => r.id);
    let out: { stdout: string } | null = accepted.length ? await scan(accepted).catch(() => null) : { stdout: '' };
    if (!out) {
      // yara stops at the first rules file that does not compile: find each one it refuses.
      accepted = [];
      for (const r of rulesets) {
        await run('yara', [...args, rulePath(r.id), '/dev/null']).then(
          () => accepted.push(r.id),
          (err) => refused.set(r.id, ((err as { stderr?: string }).stderr ?? String(err)).trim()),
        );
      }
      out = accepted.length ? await scan(accepted) : { stdout: '' };
    }
    const matches = new Set<MatchKey>();
    for (const line of out.stdout.split('\n')) {
      const m = /^n(\d+):(\S+) .*\/f(\d+)$/.exec(line);
      if (m) matches.add(matchKey(Number(m[3]), Number(m[1]), m[2]!));
    }
    return { matches, refused };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Matches of Trawl's hunting path: every ruleset compiled into one set as the compile thread does
 * (so patterns are shared across rulesets as in production), loaded and scanned as a scanning
 * thread does. Rulesets that do not compile come back in `failed`. `asWritten`: without the
 * condition rewrite, to show what it prevents.
 */
export function trawlMatches(rulesets: readonly CaseRuleset[], files: readonly Uint8Array[], variables?: ScanVariables, opts?: { asWritten?: boolean }): { matches: Set<MatchKey>; failed: Map<number, string> } {
  const compiled = compileToShared(rulesets.map((r) => ({ id: r.id, generation: 1, rules: r.source })), opts);
  const matcher = new Matcher();
  const task = { artifacts: [{ key: 'shard:0', digest: 'case', bytes: compiled.bytes }], timeoutMs: 10_000, maxBytes: 64 * 1024 * 1024 };
  const matches = new Set<MatchKey>();
  files.forEach((data, i) => {
    const result = matcher.scan(data, task, variables);
    if (result.scans.some((s) => s.timedOut)) throw new Error(`scan of file ${i} timed out`);
    for (const m of result.matches) matches.add(matchKey(i, m.rulesetId, m.rule));
  });
  return { matches, failed: new Map(compiled.failed.map((f) => [f.id, f.error])) };
}

/** Keys in `a` and not in `b`. */
export const minus = (a: Set<MatchKey>, b: Set<MatchKey>): MatchKey[] => [...a].filter((k) => !b.has(k));
