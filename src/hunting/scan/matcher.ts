// The scanning side of hunting, run inside worker threads: keeps the artifacts it was sent
// deserialized (by digest), scans a file with each, and turns engine matches into RawMatches
// with their snippets. Synchronous, like the engine.
import { releaseDroppedRules } from '../engine/native-memory.js';
import { CompiledRules, ScanTimeoutError, type Match } from '../engine/compiled-rules.js';
import { parseVersionId, type HuntResult, type HuntTask, type RawMatch, type RulesLoad, type ScanArtifact } from '../engine/rules-artifact.js';
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

/**
 * How long a set no task has listed stays loaded. Tasks queued before the catalog published a new
 * set still list the old one: dropping it as soon as a newer task no longer lists it made threads
 * load the two in turn (a 7 MB set costs 1-2 s of CPU to load) while rulesets were being imported.
 */
const RETAIN_MS = 10_000;

/** Deserialized artifacts of one thread. */
export class Matcher {
  private readonly loaded = new Map<string, { rules: CompiledRules; usedAt: number }>();
  /** Sets deserialized since the last call reported them. */
  private loads: RulesLoad[] = [];
  /** Files scanned and sets deserialized by this thread since it started. */
  private scans = 0;
  private loadCount = 0;

  /** @param thread Reported with each load, so a log can tell threads apart. */
  constructor(private readonly thread = 0) {}

  /** The compiled rules of `a`, deserializing it the first time its digest is seen. */
  private rules(a: ScanArtifact, now: number): CompiledRules {
    let entry = this.loaded.get(a.digest);
    if (!entry) {
      const started = performance.now();
      const rules = CompiledRules.deserialize(Buffer.from(a.bytes));
      rules.setMaxMatchesPerPattern(MAX_MATCHES_PER_PATTERN);
      entry = { rules, usedAt: now };
      this.loaded.set(a.digest, entry);
      this.loads.push({
        key: a.key, digest: a.digest, bytes: a.bytes.byteLength, ms: Math.round(performance.now() - started),
        thread: this.thread, loadsSoFar: ++this.loadCount, scansSoFar: this.scans,
      });
    }
    entry.usedAt = now;
    return entry.rules;
  }

  /** Forgets the sets no task has listed for RETAIN_MS. */
  private forget(now: number): void {
    let dropped = false;
    for (const [digest, entry] of this.loaded) {
      if (now - entry.usedAt > RETAIN_MS) dropped = this.loaded.delete(digest);
    }
    if (dropped) releaseDroppedRules();
  }

  /** The loads since the last call, once. */
  private takeLoads(): RulesLoad[] {
    const out = this.loads;
    this.loads = [];
    return out;
  }

  /** Deserializes the artifacts not loaded yet (ahead of the scans that will list them). */
  load(artifacts: readonly ScanArtifact[]): RulesLoad[] {
    const now = Date.now();
    for (const a of artifacts) this.rules(a, now);
    this.forget(now);
    return this.takeLoads();
  }

  /** Scans `data` with every artifact of the task. */
  scan(data: Uint8Array, task: HuntTask, variables?: ScanVariables): HuntResult {
    const now = Date.now();
    const result: HuntResult = { matches: [], scans: [] };
    if (data.length > task.maxBytes) return { ...result, skipped: 'too-large' };
    this.scans++;
    for (const a of task.artifacts) {
      const s = timedScan(this.rules(a, now), data, task.timeoutMs, variables);
      result.scans.push({ key: a.key, ms: s.ms, timedOut: s.timedOut });
      result.matches.push(...rawMatches(s.matches, data, a.key));
    }
    this.forget(now);
    const loads = this.takeLoads();
    return loads.length ? { ...result, loads } : result;
  }
}
