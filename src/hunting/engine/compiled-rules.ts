// Many rulesets compiled into one YARA-X rule set, one namespace per ruleset, scanned in one pass;
// serializable so a set compiled once can be shipped to each worker thread.
import { compileErrorText, huntingCompilerOptions } from './engine-options.js';
import { unconstrainedConditions } from './unconstrained-conditions.js';
import { bindingSafeVariables, loadYaraX, type YaraRules } from './yara-x.js';

/** A rule that matched, mapped back to its ruleset. */
export interface Match {
  rulesetId: string;
  rule: string;
  tags: string[];
  /** One entry per pattern with matches, in first-match order; empty for condition-only matches. */
  patterns: { identifier: string; matches: { offset: number; length: number }[] }[];
}

/** A ruleset left out of a compiled set, with the engine's error. */
export interface FailedRuleset {
  id: string;
  error: string;
}

/** The namespace a ruleset's rules live in. */
export const namespaceOf = (rulesetId: string) => `r${rulesetId}`;
const rulesetIdOf = (namespace: string) => (namespace.startsWith('r') ? namespace.slice(1) : namespace);

/** Thrown by `scan` when the scan overran its timeout. */
export class ScanTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`YARA scan timed out after ${timeoutMs} ms`);
    this.name = 'ScanTimeoutError';
  }
}

/** Compiled rules of many rulesets. Not thread-safe: each thread needs its own (deserialize). */
export class CompiledRules {
  private timeoutMs = -1;

  private constructor(
    private readonly rules: YaraRules,
    /** Ids of the rulesets compiled in. */
    readonly rulesetIds: readonly string[],
    /** Rulesets that did not compile and were left out. */
    readonly failed: readonly FailedRuleset[],
    /** Rulesets compiled as written, their rewrite having failed: exposed to YARA-X 1.20.0's bugs
     * (reported by the compile thread; not carried through serialize). */
    readonly unguarded: readonly string[] = [],
  ) {}

  /** @internal */
  static of(rules: YaraRules, ids: readonly string[], failed: readonly FailedRuleset[], unguarded: readonly string[] = []) {
    return new CompiledRules(rules, ids, failed, unguarded);
  }

  /**
   * Scans `data` with every ruleset. `timeoutMs` is rounded up to whole seconds by the engine
   * (it checks once per second). Throws ScanTimeoutError when the scan overruns it. `variables`
   * give external variables their values for this scan only (the others keep their defaults).
   */
  scan(data: Uint8Array, timeoutMs: number, variables?: Record<string, string | number | boolean>): Match[] {
    const seconds = Math.max(1, Math.ceil(timeoutMs / 1000)) * 1000;
    if (seconds !== this.timeoutMs) {
      this.rules.setTimeout(seconds);
      this.timeoutMs = seconds;
    }
    let results;
    try {
      results = this.rules.scan(data, variables && bindingSafeVariables(variables));
    } catch (err) {
      if ((err as { code?: string }).code === 'Cancelled' || /timed out/i.test((err as Error).message)) {
        throw new ScanTimeoutError(timeoutMs);
      }
      throw err;
    }
    return results.map((r) => {
      const byPattern = new Map<string, { offset: number; length: number }[]>();
      for (const m of r.matches) {
        let list = byPattern.get(m.identifier);
        if (!list) byPattern.set(m.identifier, (list = []));
        list.push({ offset: m.offset, length: m.length });
      }
      return {
        rulesetId: rulesetIdOf(r.namespace),
        rule: r.ruleIdentifier,
        tags: r.tags,
        patterns: [...byPattern].map(([identifier, matches]) => ({ identifier, matches })),
      };
    });
  }

  /** Caps the matches the engine keeps per pattern (offsets for snippets). */
  setMaxMatchesPerPattern(max: number): void {
    this.rules.setMaxMatchesPerPattern(max);
  }

  /** The compiled rules and the ruleset bookkeeping, for `CompiledRules.deserialize`. */
  serialize(): Buffer {
    const meta = Buffer.from(JSON.stringify({ ids: this.rulesetIds, failed: this.failed }), 'utf8');
    const header = Buffer.alloc(4);
    header.writeUInt32LE(meta.length);
    return Buffer.concat([header, meta, this.rules.serialize()]);
  }

  /** Rebuilds compiled rules from `serialize()` output, much faster than compiling again. */
  static deserialize(buf: Buffer): CompiledRules {
    const len = buf.readUInt32LE(0);
    const meta = JSON.parse(buf.subarray(4, 4 + len).toString('utf8')) as { ids: string[]; failed: FailedRuleset[] };
    return new CompiledRules(loadYaraX().deserialize(buf.subarray(4 + len)), meta.ids, meta.failed);
  }
}

/** A ruleset as compiled: `source` is what the engine gets (see unconstrained-conditions.ts). */
interface Compilable {
  id: string;
  source: string;
}

function compileAll(rulesets: readonly Compilable[]): YaraRules {
  const rules = loadYaraX().compile('', huntingCompilerOptions());
  if (rulesets.length > 0) rules.addRuleSources(rulesets.map((r) => ({ source: r.source, namespace: namespaceOf(r.id) })));
  return rules;
}

/**
 * Compiles all rulesets in one compiler pass, each in its own namespace, with the hunting options
 * and each condition rewritten so that YARA-X 1.20.0 cannot lose or invent matches where rules
 * share a pattern (unconstrained-conditions.ts). A ruleset that fails is left out and listed in
 * `failed`: the engine reports only the first error of a pass without its namespace, so on
 * failure each ruleset is validated alone to find the failing ones, and the rest compiled again.
 * A ruleset whose rewrite fails where its own source compiles (a lexer gap, never seen) is
 * compiled as written and listed in `unguarded`. `asWritten` skips the rewrite: only for showing
 * what it prevents (bench/engine-differential.ts). Blocks the calling thread for seconds with
 * thousands of rulesets: run it off the event loop.
 */
export function compileRulesets(rulesets: readonly { id: string; source: string }[], opts: { asWritten?: boolean } = {}): CompiledRules {
  const ids = rulesets.map((r) => r.id);
  if (new Set(ids).size !== ids.length) throw new Error('compileRulesets: duplicate ruleset ids');
  const rewritten = opts.asWritten ? rulesets : rulesets.map((r) => ({ id: r.id, source: unconstrainedConditions(r.source) }));
  try {
    return CompiledRules.of(compileAll(rewritten), ids, []);
  } catch (firstError) {
    const yara = loadYaraX();
    const options = huntingCompilerOptions();
    const failed: FailedRuleset[] = [];
    const unguarded: string[] = [];
    const good: Compilable[] = [];
    rulesets.forEach((r, i) => {
      if (yara.validate(rewritten[i]!.source, options).errors.length === 0) return good.push(rewritten[i]!);
      const { errors } = yara.validate(r.source, options);
      if (errors.length > 0) return failed.push({ id: r.id, error: compileErrorText(new Error(errors[0]!.message)) });
      unguarded.push(r.id);
      good.push(r);
    });
    if (failed.length === 0 && unguarded.length === 0) throw firstError; // fails only in combination: nothing to single out
    return CompiledRules.of(compileAll(good), good.map((r) => r.id), failed, unguarded);
  }
}
