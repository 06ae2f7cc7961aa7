// Worker-thread entry for everything that compiles rules, so that compiling (milliseconds to
// seconds) never blocks the API's event loop or the scanning threads: validating a ruleset at
// the door, compiling rule sets into shared memory, and hunting down the ruleset that makes a
// scan slow.
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { serveTasks } from '../threads/worker-pool.js';
import { compileRulesets } from './compiled-rules.js';
import { rawMatches, timedScan } from './matcher.js';
import { versionId, type RawMatch } from './rules-artifact.js';
import { validateRuleset } from './rule-validation.js';
import { probeRulesetSpeed } from './rule-speed-probe.js';
import { releaseDroppedRules, releaseEvery } from './native-memory.js';
import type { RulesetSource } from '../store/store.js';

/** A compiled set in shared memory, and the members that failed to compile. */
export interface CompileResult {
  bytes: SharedArrayBuffer;
  failed: { id: number; error: string }[];
  /** Members compiled without the condition rewrite (see CompiledRules.unguarded). */
  unguarded: number[];
}

/** A ruleset that took longer than allowed on a file by itself. */
export interface SlowRuleset {
  rulesetId: number;
  generation: number;
  ms: number;
  timedOut: boolean;
}

export interface InvestigateResult {
  slow: SlowRuleset[];
  /** Matches of every other ruleset (and of slow ones that still finished). */
  matches: RawMatch[];
}

/** Splits a slow group this many ways per step: few steps, each a compile plus short probes. */
const FAN_OUT = 8;

function compile(rulesets: RulesetSource[], opts?: { asWritten?: boolean }) {
  return compileRulesets(rulesets.map((r) => ({ id: versionId(r.id, r.generation), source: r.rules })), opts);
}

export function compileToShared(rulesets: RulesetSource[], opts?: { asWritten?: boolean }): CompileResult {
  const compiled = compile(rulesets, opts);
  const buf = compiled.serialize();
  const bytes = new SharedArrayBuffer(buf.length);
  new Uint8Array(bytes).set(buf);
  const rulesetOf = (versioned: string) => Number(versioned.split('_')[0]);
  const failed = compiled.failed.map((f) => ({ id: rulesetOf(f.id), error: f.error }));
  return { bytes, failed, unguarded: compiled.unguarded.map(rulesetOf) };
}

/**
 * Finds the rulesets that alone take longer than `slowMs` on `data`: the group is compiled in
 * FAN_OUT parts, each probed with a timeout just over `slowMs`; fast parts give their matches,
 * slow ones are split again, down to single rulesets.
 */
export function investigate(rulesets: RulesetSource[], data: Uint8Array, slowMs: number, artifact: string): InvestigateResult {
  const out: InvestigateResult = { slow: [], matches: [] };
  const probeMs = slowMs + 1000;
  const queue: RulesetSource[][] = [rulesets];
  while (queue.length > 0) {
    const group = queue.shift()!;
    const size = Math.ceil(group.length / FAN_OUT);
    for (let i = 0; i < group.length; i += size) {
      const part = group.slice(i, i + size);
      const s = timedScan(compile(part), data, probeMs);
      const slow = s.timedOut || s.ms > slowMs;
      if (slow && part.length > 1) {
        queue.push(part);
        continue;
      }
      if (slow) out.slow.push({ rulesetId: part[0]!.id, generation: part[0]!.generation, ms: Math.round(s.ms), timedOut: s.timedOut });
      out.matches.push(...rawMatches(s.matches, data, artifact));
    }
  }
  return out;
}

if (!isMainThread) {
  // Every task leaves compiled rules behind (native-memory.ts): validations are small and many
  // (an import makes hundreds), compiles and investigations large.
  const afterValidation = releaseEvery(16);
  const released = <T>(result: T): T => {
    releaseDroppedRules();
    return result;
  };
  serveTasks({
    validate: (t) => {
      const validated = validateRuleset(t.source as string, { maxBytes: t.maxBytes as number });
      probeRulesetSpeed(t.source as string);
      afterValidation();
      return validated;
    },
    compile: (t) => released(compileToShared(t.rulesets as RulesetSource[])),
    investigate: (t) => released(investigate(t.rulesets as RulesetSource[], readFileSync(t.path as string), t.slowMs as number, t.artifact as string)),
  });
}
