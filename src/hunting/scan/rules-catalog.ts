// Which compiled rule sets the scanning threads use, kept in step with the database.
//
// Scanning one set is many times cheaper per byte than scanning several, but compiling 1,000
// rulesets takes seconds. So rulesets live in a few large shards (shardSize each), and the ones
// changed since their shard was compiled in small delta sets: each refresh compiles only the
// rulesets changed since the one before (milliseconds), so a burst of changes (a collection being
// imported) never recompiles, nor makes every scanning thread load again, what is already
// compiled. When deltas pile up they are merged into one in the background. Every namespace
// carries its ruleset's generation, and each ruleset version has one set that owns it, so matches
// of a stale version or from a second copy are simply not accepted. Once changes have been quiet
// for rebuildDelayMs (or the deltas hold maxDelta rulesets), the shards holding changed rulesets
// are compiled again in the background and the deltas go. A ruleset found to make scans slow is
// quarantined: it is scanned alone, so it cannot hold the others up. With `watch`, changes are
// compiled as soon as they are seen, not when the next upload asks for them.
import type { Logger } from 'pino';
import type { RulesetSource, Store } from '../../store/store.js';
import type { RuleCompiler } from '../engine/rule-compiler.js';
import { forScan, type RawMatch, type RulesArtifact, type ScanArtifact } from '../engine/rules-artifact.js';

/** A promise and what resolves it. */
function settled(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Rulesets changed for one refresh from which the next waits for refreshGapMs: a burst. */
const BURST_RULESETS = 4;

/** How long after an analysis gave up waiting for a compile the next ones do not wait at all. */
const BURST_MS = 3000;

export interface CatalogOptions {
  /** Rulesets per shard. */
  shardSize: number;
  /** Quiet time after a change before shards are rebuilt. */
  rebuildDelayMs: number;
  /** Deltas holding this many rulesets are folded into the shards at once. */
  maxDelta: number;
  /** More deltas than this are merged into one in the background (each costs a scan pass). */
  maxDeltas?: number;
  /**
   * Told of every new snapshot, to have the scanning threads load it ahead of time; resolves once
   * they have. Until then, analyses that may scan with the snapshot before it do (see ready).
   */
  onPublish?: (snap: RulesSnapshot) => void | Promise<void>;
  /**
   * In a burst (BURST_RULESETS), a refresh starts at least this long after the one before ended
   * (default 0). During an import a refresh followed every few hundred ms, each publishing a new
   * delta that every scanning thread then loaded: the threads spent most of their time loading
   * sets instead of scanning. Analyses do not wait for it (snapshotWithin, then a late scan).
   */
  refreshGapMs?: number;
}

/** An immutable view of the catalog: what to scan with and which matches count. */
export interface RulesSnapshot {
  readonly generation: number;
  readonly artifacts: readonly RulesArtifact[];
  /** The artifacts as scan tasks carry them. */
  readonly scan: readonly ScanArtifact[];
  /** Whether a match comes from the current version of an enabled ruleset, in the set that owns it. */
  accepts(m: RawMatch): boolean;
  artifact(key: string): RulesArtifact | undefined;
  /**
   * The enabled community rulesets (`trawl rules import`): their matches make files' verdicts,
   * never notifications. Known here so that sorting matches costs no database read.
   */
  readonly community: ReadonlySet<number>;
}

interface CompiledSet {
  artifact: RulesArtifact;
  /** Ruleset id -> generation compiled in. */
  members: Map<number, number>;
}

const QUARANTINE = 'quarantine:';

export class RulesCatalog {
  private generation = -1;
  /** Enabled rulesets: id -> current generation. */
  private current = new Map<number, number>();
  /** Enabled community rulesets (RulesetSource.community). */
  private community = new Set<number>();
  private shards: CompiledSet[] = [];
  /** Oldest first; each compiled from the rulesets changed since the one before. */
  private deltas: CompiledSet[] = [];
  private merging: Promise<void> | null = null;
  private watchTimer: NodeJS.Timeout | undefined;
  private readonly quarantined = new Map<number, CompiledSet>();
  private snap: RulesSnapshot | null = null;
  private refreshing: Promise<void> | null = null;
  private lock: Promise<unknown> = Promise.resolve();
  private rebuildTimer: NodeJS.Timeout | undefined;
  private rebuilding: Promise<void> | null = null;
  private closed = false;
  private seq = 0;
  /** Numbers delta keys, which must be unique while compiles overlap. */
  private deltaSeq = 0;
  /** When the last refresh ended (epoch ms), and how many rulesets had changed for it. */
  private lastRefresh = 0;
  private lastRefreshSize = 0;
  /** When an analysis last stopped waiting for a compile (snapshotWithin). */
  private gaveUpAt = 0;
  /**
   * The newest snapshot every scanning thread has loaded (onPublish resolved). Scanning with a
   * newer one makes each thread load its new sets before it can scan: about a second per thread
   * for a delta during an import, in which that thread scans nothing.
   */
  private ready: { snap: RulesSnapshot; seq: number } | null = null;
  private published = 0;
  private readyChanged: { promise: Promise<void>; resolve(): void } = settled();

  constructor(
    private readonly store: Store,
    private readonly compiler: RuleCompiler,
    private readonly opts: CatalogOptions,
    private readonly log: Logger,
  ) {}

  /**
   * The catalog as of the database's latest ruleset change. Call it after the job to scan for was
   * claimed: every change committed before the claim (and so before the upload was acknowledged)
   * is then in the snapshot.
   */
  async snapshot(): Promise<RulesSnapshot> {
    for (;;) {
      const target = await this.store.rulesGeneration();
      if (this.snap && this.generation >= target) return this.snap;
      await this.refreshOnce();
      if (this.snap && this.generation >= target) return this.snap;
    }
  }

  /**
   * Like snapshot(), but waits at most `waitMs` for the changes to compile: past it, the snapshot
   * published last, `behind` the database. The caller then scans again, once they are compiled,
   * with the rulesets changed since `snap.generation` (late-scan-job.ts): an import of hundreds of
   * rulesets, compiling for seconds, delays no upload. Waits as long as it takes while nothing
   * was ever published (startup).
   */
  async snapshotWithin(waitMs: number): Promise<{ snap: RulesSnapshot; behind: boolean }> {
    // In a burst of changes (an analysis gave up waiting lately), waiting again is time lost: the
    // next compile is seconds away. A lone change still gets its wait.
    const until = Date.now() + (Date.now() - this.gaveUpAt < BURST_MS ? 0 : waitMs);
    for (;;) {
      const target = await this.store.rulesGeneration();
      if (this.ready && this.ready.snap.generation >= target) return { snap: this.ready.snap, behind: false };
      if (this.snap && this.generation >= target) return { snap: this.snap, behind: false };
      if (!this.snap) return { snap: await this.snapshot(), behind: false };
      const refreshed = this.refreshOnce();
      const left = until - Date.now();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = left <= 0 || await Promise.race([
        refreshed.then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), left))),
      ]).finally(() => clearTimeout(timer));
      if (timedOut) {
        // Behind anyway: the snapshot the threads have loaded, whatever changed since scans late.
        const snap = this.ready?.snap ?? this.snap;
        const behind = snap.generation < target;
        if (behind) this.gaveUpAt = Date.now();
        return { snap, behind };
      }
    }
  }

  /**
   * The catalog once it has compiled every change up to `generation` (a late scan catching up
   * with the changes an analysis did not wait for). Unlike snapshot(), it does not follow changes
   * made after: during an import those never stop, and each late scan waited for the import's end.
   */
  async snapshotAt(generation: number): Promise<RulesSnapshot> {
    for (;;) {
      if (this.ready && this.ready.snap.generation >= generation) return this.ready.snap;
      if (!this.snap || this.generation < generation) {
        await this.refreshOnce();
      } else {
        // Compiled; waiting for the threads to load it (they scan with it right after).
        await this.readyChanged.promise;
      }
    }
  }

  /** Scans with `key` compiled alone from now on; its matches in shards no longer count. */
  async quarantine(id: number, generation: number): Promise<void> {
    await this.serial(async () => {
      if (this.current.get(id) !== generation || this.quarantined.has(id)) return;
      const sources = (await this.store.enabledRulesetSources([id])).filter((s) => s.generation === generation);
      if (sources.length === 0) return;
      this.quarantined.set(id, await this.compileSet(`${QUARANTINE}${id}`, sources, false));
      await this.updateDelta();
      this.publish();
      // Its shard still runs its rules on every file: recompile that shard without it.
      this.scheduleRebuild();
    });
    this.log.warn({ ruleset: id }, 'ruleset quarantined: it made a scan slow, so it is scanned alone from now on');
  }

  /** Sources of an artifact's members as they are now, for investigating a slow scan. */
  async sourcesOf(artifact: RulesArtifact): Promise<RulesetSource[]> {
    return this.store.enabledRulesetSources(artifact.members.map(([id]) => id));
  }

  /** Whether some ruleset is quarantined now (in this process: each finds its own). */
  hasQuarantined(): boolean {
    return this.quarantined.size > 0;
  }

  isQuarantine(key: string): boolean {
    return key.startsWith(QUARANTINE);
  }

  /**
   * Compiles ruleset changes as soon as they are committed (polling the database's generation
   * every `intervalMs`, so changes made through any process count), instead of when the next
   * upload's scan asks for them.
   */
  watch(intervalMs: number): void {
    clearInterval(this.watchTimer);
    this.watchTimer = setInterval(() => {
      if (this.closed || this.refreshing) return;
      void this.snapshot().catch((err) => this.log.warn({ err }, 'could not compile the latest ruleset changes'));
    }, intervalMs);
    this.watchTimer.unref();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.rebuildTimer);
    clearInterval(this.watchTimer);
    await Promise.all([this.rebuilding?.catch(() => undefined), this.merging?.catch(() => undefined)]);
  }

  /** The refresh in progress, or a new one: callers asking at once share it. */
  private refreshOnce(): Promise<void> {
    this.refreshing ??= this.serial(() => this.refresh()).finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /** Runs catalog mutations one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private async refresh(): Promise<void> {
    // In a burst (the refresh before took several rulesets), changes arriving meanwhile are
    // compiled together, in one delta. A lone change, as a user edits a ruleset, goes at once.
    const wait = this.lastRefresh + (this.opts.refreshGapMs ?? 0) - Date.now();
    if (wait > 0 && this.lastRefreshSize >= BURST_RULESETS) await new Promise((r) => setTimeout(r, wait));
    try {
      await this.refreshNow();
    } finally {
      this.lastRefresh = Date.now();
    }
  }

  private async refreshNow(): Promise<void> {
    const changes = this.generation < 0 ? null : await this.store.rulesetChangesSince(this.generation);
    this.lastRefreshSize = changes ? changes.rulesetIds.length : 0;
    if (!changes) return this.loadAll();
    if (changes.rulesetIds.length === 0) {
      this.generation = changes.generation;
      return;
    }
    const sources = await this.store.enabledRulesetSources(changes.rulesetIds);
    const enabled = new Map(sources.map((s) => [s.id, s.generation]));
    const community = new Set(sources.filter((s) => s.community).map((s) => s.id));
    for (const id of changes.rulesetIds) {
      const g = enabled.get(id);
      if (g === undefined) this.current.delete(id);
      else this.current.set(id, g);
      if (community.has(id)) this.community.add(id);
      else this.community.delete(id);
      const q = this.quarantined.get(id);
      if (q && q.members.get(id) !== g) this.quarantined.delete(id);
    }
    await this.updateDelta();
    this.generation = changes.generation;
    this.publish();
    this.scheduleRebuild();
  }

  /** Compiles every enabled ruleset into fresh shards (startup, or after a long absence). */
  private async loadAll(): Promise<void> {
    const started = Date.now();
    const generation = await this.store.rulesGeneration();
    const sources = await this.store.enabledRulesetSources();
    this.current = new Map(sources.map((s) => [s.id, s.generation]));
    this.community = new Set(sources.filter((s) => s.community).map((s) => s.id));
    this.quarantined.clear();
    // Both compile threads share the work: startup with many shards takes half as long.
    const chunks: RulesetSource[][] = [];
    for (let i = 0; i < sources.length; i += this.opts.shardSize) chunks.push(sources.slice(i, i + this.opts.shardSize));
    this.shards = new Array(chunks.length);
    let next = 0;
    const lane = async (long: boolean) => {
      for (let i = next++; i < chunks.length; i = next++) this.shards[i] = await this.compileSet(`shard:${i}`, chunks[i]!, long);
    };
    await Promise.all([lane(true), lane(false)]);
    this.deltas = [];
    await this.updateDelta();
    this.generation = generation;
    this.publish();
    if (sources.length > 0) this.log.info({ rulesets: sources.length, shards: this.shards.length, ms: Date.now() - started }, 'hunting rulesets compiled');
  }

  private async compileSet(key: string, sources: RulesetSource[], long: boolean): Promise<CompiledSet> {
    const started = performance.now();
    const r = await this.compiler.compile(sources, long);
    const ms = performance.now() - started;
    this.log.info({ set: key, rulesets: sources.length, ms: Math.round(ms) }, 'rules compiled');
    for (const f of r.failed) this.log.error({ ruleset: f.id, error: f.error }, 'ruleset does not compile; it is not scanned');
    for (const id of r.unguarded) this.log.error({ ruleset: id }, 'ruleset compiled without the condition rewrite that keeps YARA-X 1.20.0 from losing matches (docs/engine.md); please report it');
    const members = new Map(sources.map((s) => [s.id, s.generation]));
    return { artifact: { key, digest: `${key}#${++this.seq}`, bytes: r.bytes, members: [...members] }, members };
  }

  /** Rulesets not in a shard at their current version, nor quarantined: what the deltas must hold. */
  private wanted(): Map<number, number> {
    const covered = new Map<number, number>();
    for (const s of this.shards) for (const [id, g] of s.members) covered.set(id, g);
    const want = new Map<number, number>();
    for (const [id, g] of this.current) if (covered.get(id) !== g && !this.quarantined.has(id)) want.set(id, g);
    return want;
  }

  /** Drops the deltas that hold nothing wanted, and compiles one for the wanted rulesets none holds. */
  private async updateDelta(): Promise<void> {
    const want = this.wanted();
    // Newest first: a delta stays while it is the newest to hold some wanted ruleset version, and
    // holds no quarantined ruleset (whose rules would go on slowing its scans).
    const held = new Set<number>();
    const keep: CompiledSet[] = [];
    for (const d of [...this.deltas].reverse()) {
      if ([...d.members.keys()].some((id) => this.quarantined.has(id))) continue;
      let owns = false;
      for (const [id, g] of d.members) {
        if (want.get(id) !== g || held.has(id)) continue;
        held.add(id);
        owns = true;
      }
      if (owns) keep.unshift(d);
    }
    this.deltas = keep;
    const missing = [...want.keys()].filter((id) => !held.has(id));
    if (missing.length > 0) this.deltas.push(await this.compileSet(`delta:${++this.deltaSeq}`, await this.store.enabledRulesetSources(missing), false));
    if (this.deltas.length > (this.opts.maxDeltas ?? 4)) this.merging ??= this.merge().finally(() => (this.merging = null));
  }

  /**
   * Compiles the newer deltas into one (on the long-work thread), to scan fewer sets. Size-tiered:
   * a delta larger than all the newer ones together is left as it is, so a burst of changes
   * compiles each ruleset a few times, not once per merge.
   */
  private async merge(): Promise<void> {
    const sources = await this.serial(async () => {
      const want = this.wanted();
      const owned = this.deltas.map((d) => [...d.members].filter(([id, g]) => want.get(id) === g).map(([id]) => id));
      let from = 0;
      while (from < owned.length - 2 && owned[from]!.length > owned.slice(from + 1).reduce((n, ids) => n + ids.length, 0)) from++;
      return this.store.enabledRulesetSources([...new Set(owned.slice(from).flat())]);
    });
    if (sources.length === 0 || this.closed) return;
    const merged = await this.compileSet(`delta:${++this.deltaSeq}`, sources, true);
    await this.serial(async () => {
      this.deltas.push(merged);
      await this.updateDelta(); // the merged set now holds what the small ones did: they go
      this.publish();
    });
  }

  private publish(): void {
    const current = new Map(this.current);
    const quarantined = new Set(this.quarantined.keys());
    const community = new Set(this.community);
    // Shards emptied or only planned by a rebuild in progress have no compiled rules yet.
    const sets = [...this.shards, ...this.deltas, ...this.quarantined.values()];
    const artifacts = sets.filter((s) => s.members.size > 0).map((s) => s.artifact);
    const byKey = new Map(artifacts.map((a) => [a.key, a]));
    // The one set whose matches count for each ruleset: its quarantine set, else the last set
    // (shards first, deltas newest last) holding its current version.
    const owner = new Map<number, string>();
    for (const set of sets) for (const [id, g] of set.members) if (current.get(id) === g && !quarantined.has(id)) owner.set(id, set.artifact.key);
    for (const id of quarantined) owner.set(id, `${QUARANTINE}${id}`);
    this.snap = {
      generation: this.generation,
      artifacts,
      scan: artifacts.map(forScan),
      accepts: (m) => current.get(m.rulesetId) === m.generation && owner.get(m.rulesetId) === m.artifact,
      artifact: (key) => byKey.get(key),
      community,
    };
    this.log.debug({ generation: this.generation, sets: artifacts.length, rulesets: current.size }, 'rules published');
    const snap = this.snap;
    const seq = ++this.published;
    const loaded = this.opts.onPublish?.(snap);
    if (loaded) void loaded.then(() => this.markReady(snap, seq), () => this.markReady(snap, seq));
    else this.markReady(snap, seq);
  }

  private markReady(snap: RulesSnapshot, seq: number): void {
    if (this.ready && this.ready.seq >= seq) return;
    this.ready = { snap, seq };
    const changed = this.readyChanged;
    this.readyChanged = settled();
    changed.resolve();
  }

  /** Whether some shard still holds a ruleset that is now quarantined (and slows its scans). */
  private shardsHoldQuarantined(): boolean {
    return this.shards.some((s) => [...s.members.keys()].some((id) => this.quarantined.has(id)));
  }

  private scheduleRebuild(): void {
    if (this.closed || (this.deltas.length === 0 && !this.shardsHoldQuarantined())) return;
    clearTimeout(this.rebuildTimer);
    // Deltas are compiled incrementally and merged, so they wait for the changes to stop (a
    // collection being imported would otherwise recompile a growing shard again and again),
    // unless they hold maxDelta rulesets. A shard still holding a quarantined ruleset (compiled
    // while it was being found slow) costs every scan: rebuilt at once.
    const delay = this.wanted().size >= this.opts.maxDelta || this.shardsHoldQuarantined() ? 0 : this.opts.rebuildDelayMs;
    this.rebuildTimer = setTimeout(() => {
      this.rebuilding ??= this.rebuild()
        .catch((err) => this.log.error({ err }, 'rebuilding rule shards failed; the deltas stay in use'))
        .finally(() => {
          this.rebuilding = null;
          this.scheduleRebuild();
        });
    }, delay);
    this.rebuildTimer.unref();
  }

  /** Folds the deltas into the shards: recompiles only the shards whose members changed. */
  private async rebuild(): Promise<void> {
    const plan = await this.serial(async () => this.planRebuild());
    for (const { index, ids } of plan) {
      if (this.closed) return;
      const sources = ids.length ? await this.store.enabledRulesetSources(ids) : [];
      const set = sources.length ? await this.compileSet(`shard:${index}`, sources, true) : null;
      await this.serial(async () => {
        this.shards[index] = set ?? { artifact: this.shards[index]!.artifact, members: new Map() };
      });
    }
    await this.serial(async () => {
      this.shards = this.shards.filter((s) => s.members.size > 0).map((s, i) => (s.artifact.key === `shard:${i}` ? s : this.rekey(s, i)));
      await this.updateDelta();
      this.publish();
    });
  }

  private rekey(s: CompiledSet, i: number): CompiledSet {
    return { members: s.members, artifact: { ...s.artifact, key: `shard:${i}` } };
  }

  /** The shards to recompile and their members: changed ones, and new rulesets in the last shards with room. */
  private planRebuild(): { index: number; ids: number[] }[] {
    const target = new Map([...this.current].filter(([id]) => !this.quarantined.has(id)));
    const members = this.shards.map((s) => new Set(s.members.keys()));
    const affected = new Set<number>();
    const placed = new Set<number>();
    this.shards.forEach((s, i) => {
      for (const [id, g] of s.members) {
        placed.add(id);
        if (target.get(id) !== g) {
          affected.add(i);
          if (!target.has(id)) members[i]!.delete(id);
        }
      }
    });
    for (const id of target.keys()) {
      if (placed.has(id)) continue;
      let i = members.length - 1;
      if (i < 0 || members[i]!.size >= this.opts.shardSize) {
        members.push(new Set());
        this.shards.push({ artifact: { key: `shard:${members.length - 1}`, digest: '', bytes: new SharedArrayBuffer(0), members: [] }, members: new Map() });
        i = members.length - 1;
      }
      members[i]!.add(id);
      affected.add(i);
    }
    return [...affected].sort((a, b) => a - b).map((index) => ({ index, ids: [...members[index]!].sort((a, b) => a - b) }));
  }
}
