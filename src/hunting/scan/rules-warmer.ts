// Has every scanning thread load the catalog's newest compiled sets ahead of the scans that will
// list them. Coalesced: while the threads load one snapshot, newer ones replace each other and only
// the last is loaded next. During a rules import the catalog publishes several snapshots a second,
// and loading each on every thread (tens of ms to seconds apiece) kept the threads from scanning.
import type { Logger } from 'pino';
import type { WorkerPool } from '../../threads/worker-pool.js';
import { logRulesLoads } from './hunter.js';
import type { RulesLoad } from '../engine/rules-artifact.js';
import type { RulesSnapshot } from './rules-catalog.js';

/** Publications less than this apart are a burst (an import), loaded one thread at a time. */
const BURST_MS = 3000;

export class RulesWarmer {
  private next: RulesSnapshot | null = null;
  private running: Promise<void> | null = null;
  /** Publications waiting for a load, by sequence number. */
  private waiting: { seq: number; resolve(): void }[] = [];
  private seq = 0;
  /** When the snapshot before the newest was published: publications this close are a burst. */
  private lastPublishedAt = 0;
  private burst = false;

  constructor(
    private readonly pool: WorkerPool,
    private readonly log: Logger,
  ) {}

  /**
   * Loads `snap` on every thread (one thread at a time in a burst) once the load in progress, if
   * any, is done. Resolves when it, or a newer snapshot, is loaded everywhere (or the load failed:
   * the threads then load on demand).
   */
  publish(snap: RulesSnapshot): Promise<void> {
    this.burst = Date.now() - this.lastPublishedAt < BURST_MS;
    this.lastPublishedAt = Date.now();
    this.next = snap;
    const seq = ++this.seq;
    const loaded = new Promise<void>((resolve) => this.waiting.push({ seq, resolve }));
    this.running ??= this.drain().finally(() => (this.running = null));
    return loaded;
  }

  /** Loads `snap` on every thread now (startup: before the first scan); `oneAtATime`: thread by thread. */
  async warm(snap: RulesSnapshot, oneAtATime = false): Promise<void> {
    logRulesLoads(this.log, (await this.pool.runOnEach<RulesLoad[]>({ kind: 'warm', artifacts: snap.scan }, { oneAtATime })).flat());
  }

  private async drain(): Promise<void> {
    for (let snap = this.next; snap; snap = this.next) {
      this.next = null;
      const upTo = this.seq;
      // In a burst, one thread at a time: the others go on scanning with what they have loaded.
      // A lone change (or a rebuilt shard) loads on all at once, sooner.
      await this.warm(snap, this.burst).catch((err) => this.log.warn({ err }, 'threads could not load the new rules ahead'));
      for (const w of this.waiting.filter((x) => x.seq <= upTo)) w.resolve();
      this.waiting = this.waiting.filter((x) => x.seq > upTo);
    }
  }
}
