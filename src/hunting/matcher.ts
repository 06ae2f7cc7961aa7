// The scanning side of hunting, run inside worker threads: keeps the artifacts it was sent
// deserialized (by digest), scans a file with each, and turns engine matches into RawMatches
// with their snippets. Synchronous, like the engine.
import { CompiledRules, ScanTimeoutError, type Match } from './compiled-rules.js';
import { parseVersionId, type HuntResult, type HuntTask, type RawMatch, type ScanArtifact } from './rules-artifact.js';
import type { ScanVariables } from './scan-variables.js';
import { snippet } from './snippet.js';

/**
 * Matches the engine keeps per pattern, and so the most `#a` can count: rules count up to 1,000
 * (`#s > 1000` in signature-base), and 256, the cap this once was, lost those matches. yara keeps
 * 1,000,000, but the binding hands every kept match of a matching rule to JavaScript as an
 * object: 1,000,000 hits of each of three patterns took 7.6 s and 916 MB on a scanning thread,
 * 100,000 takes a tenth (docs/engine.md, "Known differences").
 */
export const MAX_MATCHES_PER_PATTERN = 100_000;

/** Engine matches of one set as RawMatches, with snippets cut from `data`. */
export function rawMatches(matches: Match[], data: Uint8Array, artifact: string): RawMatch[] {
  const out: RawMatch[] = [];
  for (const m of matches) {
    const v = parseVersionId(m.rulesetId);
    if (!v) continue;
    const offsets = m.patterns.flatMap((p) => p.matches);
    out.push({ rulesetId: v.id, generation: v.generation, rule: m.rule, tags: m.tags, snippet: snippet(data, offsets), artifact });
  }
  return out;
}

/** Runs `scan` with a stopwatch; a timeout is reported, not thrown. */
export function timedScan(rules: CompiledRules, data: Uint8Array, timeoutMs: number, variables?: ScanVariables): { matches: Match[]; ms: number; timedOut: boolean } {
  const start = performance.now();
  try {
    const matches = rules.scan(data, timeoutMs, variables);
    return { matches, ms: performance.now() - start, timedOut: false };
  } catch (err) {
    if (err instanceof ScanTimeoutError) return { matches: [], ms: performance.now() - start, timedOut: true };
    throw err;
  }
}

/** Deserialized artifacts of one thread. */
export class Matcher {
  private readonly loaded = new Map<string, CompiledRules>();

  /** The compiled rules of `a`, deserializing it the first time its digest is seen. */
  private rules(a: ScanArtifact): CompiledRules {
    let r = this.loaded.get(a.digest);
    if (!r) {
      r = CompiledRules.deserialize(Buffer.from(a.bytes));
      r.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
      this.loaded.set(a.digest, r);
    }
    return r;
  }

  /** Deserializes the artifacts not loaded yet and forgets the ones not listed. */
  load(artifacts: readonly ScanArtifact[]): void {
    const wanted = new Set(artifacts.map((a) => a.digest));
    for (const digest of this.loaded.keys()) if (!wanted.has(digest)) this.loaded.delete(digest);
    for (const a of artifacts) this.rules(a);
  }

  /** Scans `data` with every artifact of the task; sets not in the task are forgotten. */
  scan(data: Uint8Array, task: HuntTask, variables?: ScanVariables): HuntResult {
    const wanted = new Set(task.artifacts.map((a) => a.digest));
    for (const digest of this.loaded.keys()) if (!wanted.has(digest)) this.loaded.delete(digest);
    const result: HuntResult = { matches: [], scans: [] };
    if (data.length > task.maxBytes) return { ...result, skipped: 'too-large' };
    for (const a of task.artifacts) {
      const s = timedScan(this.rules(a), data, task.timeoutMs, variables);
      result.scans.push({ key: a.key, ms: s.ms, timedOut: s.timedOut });
      result.matches.push(...rawMatches(s.matches, data, a.key));
    }
    return result;
  }
}
