// Compiling off the event loop: two pools running compile-worker.ts, one of two threads for quick
// work (validating a ruleset, compiling the few rulesets that just changed) and one of one thread
// for long work (whole shards, merged deltas, hunting down slow rulesets), so a long compile
// never delays a quick one.
import type { Metrics } from '../../metrics/metrics.js';
import { WorkerPool } from '../../threads/worker-pool.js';
import type { RulesetSource } from '../../store/store.js';
import type { CompileResult } from './shared-compile.js';
import type { InvestigateResult } from '../scan/slow-ruleset-search.js';
import type { RulesetDiagnosis, RulesetValidation } from '../rulesets/rule-validation.js';

const script = new URL('./compile-worker.js', import.meta.url);

export class RuleCompiler {
  private readonly quick: WorkerPool;
  private slowPool: WorkerPool | null = null;

  /**
   * `deadlineMs` bounds one task; a compile running longer has its thread replaced. `longNice` is
   * the long-work thread's nice value: the analysis threads' own, so that merging deltas and
   * rebuilding shards in the background share the cores with scanning instead of preempting it
   * (at nice 0 during an import they held back analyses for seconds).
   */
  constructor(
    private readonly deadlineMs = 10 * 60_000,
    private readonly longNice = 0,
    /** Counts and times compile() (trawl_rule_compiles_total, trawl_rule_compile_duration_seconds). */
    private readonly metrics: Metrics | null = null,
  ) {
    // Two threads: ruleset changes are compiled as they are committed (RulesCatalog.watch), and a
    // validation at the API must not wait behind them (one thread doubled an import's time).
    this.quick = new WorkerPool({ script, size: 2, taskTimeoutMs: deadlineMs });
  }

  // Started on first use: processes that only validate (the API role) never start it.
  private get slow(): WorkerPool {
    this.slowPool ??= new WorkerPool({ script, size: 1, taskTimeoutMs: this.deadlineMs, nice: this.longNice });
    return this.slowPool;
  }

  /**
   * Validates a ruleset's source (see validateRuleset); rejects with InvalidArgumentError. Queued
   * behind the quick compiles: during an import, eight validations at a time kept the delta that
   * publishes the rulesets already saved from starting for the whole import (12 s), and uploads
   * matching them waited for it.
   */
  validate(source: string, maxBytes: number): Promise<RulesetValidation> {
    return this.quick.run({ kind: 'validate', source, maxBytes }, [], { priority: 1 });
  }

  /** Every problem of a source with its line and column (diagnoseRuleset), for the web editor. */
  diagnose(source: string, maxBytes: number): Promise<RulesetDiagnosis> {
    return this.quick.run({ kind: 'diagnose', source, maxBytes }, [], { priority: 1 });
  }

  /**
   * Compiles rulesets into one set; `long` runs it on the pool for long work. Rulesets that do not
   * compile are in the result (`failed`): the compile itself fails only when its thread does.
   * `probe`: the result also says how fast the set scans the speed probe's files.
   */
  async compile(rulesets: RulesetSource[], long: boolean, opts: { probe?: boolean } = {}): Promise<CompileResult> {
    const started = performance.now();
    let ok = false;
    try {
      const r = await (long ? this.slow : this.quick).run<CompileResult>({ kind: 'compile', rulesets, probe: opts.probe === true }, [], { priority: 0 });
      ok = true;
      return r;
    } finally {
      this.metrics?.ruleSetCompiled(performance.now() - started, ok);
    }
  }

  /** Finds which of `rulesets` alone take longer than `slowMs` on the file at `path`. */
  investigate(rulesets: RulesetSource[], path: string, slowMs: number, artifact: string): Promise<InvestigateResult> {
    return this.slow.run({ kind: 'investigate', rulesets, path, slowMs, artifact });
  }

  async close(): Promise<void> {
    await Promise.all([this.quick.close(), this.slowPool?.close()]);
  }
}
