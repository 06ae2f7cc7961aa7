// Hunting one file, around the scan that runs on a worker thread: what the scan gets (the rules
// snapshot and limits), and what happens after it. A set that made the scan slow or time out is
// investigated (slow-ruleset-search.ts) to find the ruleset responsible, which is reported on the
// ruleset and to its owner and quarantined; the other rulesets keep their matches for the file.
import type { Logger } from 'pino';
import type { Metrics } from '../../metrics/metrics.js';
import type { RulesetRecord, SlowScan, Store } from '../../store/store.js';
import type { RuleCompiler } from '../engine/rule-compiler.js';
import type { HuntResult, HuntTask, RawMatch, RulesLoad } from '../engine/rules-artifact.js';
import type { RulesCatalog, RulesSnapshot } from './rules-catalog.js';

export interface HunterOptions {
  /** Per-set scan timeout. */
  scanTimeoutMs: number;
  /** Files larger than this are not scanned. */
  maxScanBytes: number;
  /** A set taking longer than this on one file is investigated. */
  slowScanMs: number;
}

/**
 * Logs (debug) each compiled set a scanning thread deserialized, with the thread's running counts:
 * in the steady state a thread loads each set once, whatever the number of scans.
 */
export function logRulesLoads(log: Logger, loads: readonly RulesLoad[] | undefined): void {
  for (const l of loads ?? []) {
    log.debug({ set: l.key, digest: l.digest, bytes: l.bytes, ms: l.ms, thread: l.thread, loads: l.loadsSoFar, scans: l.scansSoFar }, 'rule set loaded by a scanning thread');
  }
}

/** Rulesets a late scan catches up with: changed after the analysis's snapshot ('all': every one). */
export type CatchUp = number[] | 'all';

export const catchesUp = (c: CatchUp): boolean => c === 'all' || c.length > 0;

/** Whether ruleset `id` is one a late scan catches up with. */
export const inCatchUp = (c: CatchUp, id: number): boolean => c === 'all' || c.includes(id);

/** Told about each ruleset found slow (after it was recorded on the ruleset). */
export type SlowRulesetListener = (ruleset: RulesetRecord, scan: SlowScan) => Promise<void>;

export class Hunter {
  constructor(
    private readonly store: Store,
    private readonly catalog: RulesCatalog,
    private readonly compiler: RuleCompiler,
    readonly opts: HunterOptions,
    private readonly log: Logger,
    private readonly onSlow: SlowRulesetListener = async () => undefined,
    /** Times every scan (trawl_scan_duration_seconds). */
    private readonly metrics: Metrics | null = null,
  ) {}

  /** The rules to scan with; call after the job was claimed (see RulesCatalog.snapshot). */
  snapshot(): Promise<RulesSnapshot> {
    return this.catalog.snapshot();
  }

  /**
   * The rules to scan an analysis with, waiting at most `waitMs` for changes to compile (see
   * RulesCatalog.snapshotWithin); `behind`: rulesets changed since `snap.generation` scan the
   * files again later (catchUp).
   */
  snapshotWithin(waitMs: number): Promise<{ snap: RulesSnapshot; behind: boolean }> {
    return this.catalog.snapshotWithin(waitMs);
  }

  /**
   * After an analysis scanned with a snapshot behind the database: the rulesets changed since
   * ('all': so many that the history is gone) and the generation they reach. Their matches in the
   * analysis are from versions no longer current, or of rulesets disabled or deleted since: they
   * are dropped, and a late scan runs the changed rulesets once compiled.
   */
  async changedSince(snap: RulesSnapshot): Promise<{ rulesets: CatchUp; generation: number }> {
    const changes = await this.store.rulesetChangesSince(snap.generation);
    return changes ? { rulesets: changes.rulesetIds, generation: changes.generation } : { rulesets: 'all', generation: await this.store.rulesGeneration() };
  }

  /** The rules once every change up to `generation` is compiled (see RulesCatalog.snapshotAt). */
  snapshotAt(generation: number): Promise<RulesSnapshot> {
    return this.catalog.snapshotAt(generation);
  }

  /**
   * The scan task of an analysis: every set but the quarantined ones, which scan later in a lane
   * of their own (late-scan-job.ts) so that no analysis waits for them. A set is cut off once it
   * has been slow (slowScanMs, rounded up to the engine's whole seconds) rather than at
   * scanTimeoutMs: the ruleset responsible is then found, quarantined, and scans this file again
   * late with the full timeout. Null when there is nothing to scan with.
   */
  task(snap: RulesSnapshot): HuntTask | null {
    const timeoutMs = Math.min(this.opts.scanTimeoutMs, this.opts.slowScanMs + 1);
    return this.taskOf(snap, (key) => !this.catalog.isQuarantine(key), timeoutMs);
  }

  /** Whether files analysed now need a late scan (some ruleset is quarantined). */
  scansLate(): boolean {
    return this.catalog.hasQuarantined();
  }

  /**
   * The late scan's task: the quarantined sets, and those holding a ruleset of `catchUp` (every
   * set for 'all'); null when there are none.
   */
  lateTask(snap: RulesSnapshot, catchUp: CatchUp = []): HuntTask | null {
    const ids = catchUp === 'all' ? null : new Set(catchUp);
    return this.taskOf(snap, (key) => {
      if (this.catalog.isQuarantine(key)) return true;
      if (!ids) return true;
      return (snap.artifact(key)?.members ?? []).some(([id]) => ids.has(id));
    }, this.opts.scanTimeoutMs);
  }

  /** Whether a late scan keeps `m`: a quarantined set's, or a ruleset's of `catchUp`. */
  keepsLate(m: RawMatch, catchUp: CatchUp): boolean {
    return this.catalog.isQuarantine(m.artifact) || inCatchUp(catchUp, m.rulesetId);
  }

  private taskOf(snap: RulesSnapshot, take: (key: string) => boolean, timeoutMs: number): HuntTask | null {
    const artifacts = snap.scan.filter((a) => take(a.key));
    if (artifacts.length === 0) return null;
    return { artifacts, timeoutMs, maxBytes: this.opts.maxScanBytes };
  }

  /** Longest a scan task may run on its thread before the thread is replaced. */
  deadlineMs(task: HuntTask | null): number {
    return task ? (task.artifacts.length * Math.ceil(task.timeoutMs / 1000) + 1) * 1000 : 0;
  }

  /** The matches that count, after dealing with any set that was slow on this file. */
  async settle(snap: RulesSnapshot, result: HuntResult, file: { path: string; sha256: string }): Promise<RawMatch[]> {
    logRulesLoads(this.log, result.loads);
    let matches = result.matches;
    for (const scan of result.scans) {
      this.metrics?.scanned(scan.ms);
      if (!scan.timedOut && scan.ms <= this.opts.slowScanMs) continue;
      const artifact = snap.artifact(scan.key);
      if (!artifact) continue;
      if (this.catalog.isQuarantine(scan.key)) {
        const [id, generation] = artifact.members[0]!;
        await this.report({ rulesetId: id, generation, ms: Math.round(scan.ms), timedOut: scan.timedOut }, file.sha256);
        continue;
      }
      this.log.warn({ sha256: file.sha256, set: scan.key, ms: Math.round(scan.ms), timedOut: scan.timedOut }, 'slow scan: looking for the ruleset responsible');
      const found = await this.compiler.investigate(await this.catalog.sourcesOf(artifact), file.path, this.opts.slowScanMs, scan.key);
      // A set that timed out gave no matches: take those of every ruleset but the slow ones.
      if (scan.timedOut) matches = [...matches.filter((m) => m.artifact !== scan.key), ...found.matches];
      for (const s of found.slow) {
        await this.report(s, file.sha256);
        await this.catalog.quarantine(s.rulesetId, s.generation);
      }
    }
    return matches.filter((m) => snap.accepts(m));
  }

  private async report(s: { rulesetId: number; generation: number; ms: number; timedOut: boolean }, sha256: string): Promise<void> {
    const scan: SlowScan = { date: Math.floor(Date.now() / 1000), sha256, milliseconds: s.ms, timedOut: s.timedOut };
    await this.store.recordSlowScan(s.rulesetId, scan);
    this.log.warn({ ruleset: s.rulesetId, sha256, ms: s.ms, timedOut: s.timedOut }, 'ruleset made a scan slow');
    const r = await this.store.getRuleset(s.rulesetId);
    if (r) await this.onSlow(r, scan).catch((err) => this.log.warn({ err, ruleset: r.id }, 'could not tell the owner about a slow ruleset'));
  }
}
