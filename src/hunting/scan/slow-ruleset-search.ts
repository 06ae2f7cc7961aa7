// Finding the rulesets that make a scan slow: the set that was slow is split into groups, each
// compiled and scanned on the same file with a short timeout, and slow groups are split again down
// to single rulesets. Runs on the long-work compile thread (engine/compile-worker.ts).
import { compileVersions } from '../engine/shared-compile.js';
import type { RawMatch } from '../engine/rules-artifact.js';
import { rawMatches, timedScan } from './matcher.js';
import type { RulesetSource } from '../../store/store.js';

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
      const s = timedScan(compileVersions(part), data, probeMs);
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

