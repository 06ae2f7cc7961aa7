// Compiling rulesets into a set in shared memory, which scan tasks carry to every scanning thread
// (each deserializes it once). Runs on a compile thread (compile-worker.ts).
import { compileRulesets } from './compiled-rules.js';
import { versionId } from './rules-artifact.js';
import { probeMbPerS } from '../rulesets/rule-speed-probe.js';
import type { RulesetSource } from '../../store/store.js';

/** A compiled set in shared memory, and the members that failed to compile. */
export interface CompileResult {
  bytes: SharedArrayBuffer;
  failed: { id: number; error: string }[];
  /** Members compiled without the condition rewrite (see CompiledRules.unguarded). */
  unguarded: number[];
  /** With `probe`: how fast the set scans the speed probe's files, in MB/s (rule-speed-probe.ts). */
  probeMbPerS?: number;
}

/** Compiles `rulesets`, each in the namespace of its version (rules-artifact.ts). */
export function compileVersions(rulesets: RulesetSource[], opts?: { asWritten?: boolean }) {
  return compileRulesets(rulesets.map((r) => ({ id: versionId(r.id, r.generation), source: r.rules })), opts);
}

export function compileToShared(rulesets: RulesetSource[], opts?: { asWritten?: boolean; probe?: boolean }): CompileResult {
  const compiled = compileVersions(rulesets, opts);
  const buf = compiled.serialize();
  const bytes = new SharedArrayBuffer(buf.length);
  new Uint8Array(bytes).set(buf);
  const rulesetOf = (versioned: string) => Number(versioned.split('_')[0]);
  const failed = compiled.failed.map((f) => ({ id: rulesetOf(f.id), error: f.error }));
  return { bytes, failed, unguarded: compiled.unguarded.map(rulesetOf), ...(opts?.probe ? { probeMbPerS: probeMbPerS(compiled) } : {}) };
}

