// Has every scanning thread load the catalog's newest compiled sets ahead of the scans that will
// list them. Coalesced: while the threads load one snapshot, newer ones replace each other and only
// the last is loaded next. During a rules import the catalog publishes several snapshots a second,
// and loading each on every thread (tens of ms to seconds apiece) kept the threads from scanning.
import type { Logger } from 'pino';
import type { WorkerPool } from '../../threads/worker-pool.js';
import { logRulesLoads } from './hunter.js';
import type { RulesLoad } from '../engine/rules-artifact.js';
import type { RulesSnapshot } from './rules-catalog.js';

export class RulesWarmer {
  private next: RulesSnapshot | null = null;
  private running: Promise<void> | null = null;

  constructor(
    private readonly pool: WorkerPool,
    private readonly log: Logger,
  ) {}

  /** Loads `snap` on every thread once the load in progress, if any, is done. */
  publish(snap: RulesSnapshot): void {
    this.next = snap;
    this.running ??= this.drain().finally(() => (this.running = null));
  }

  /** Loads `snap` on every thread now (startup: before the first scan). */
  async warm(snap: RulesSnapshot): Promise<void> {
    logRulesLoads(this.log, (await this.pool.runOnEach<RulesLoad[]>({ kind: 'warm', artifacts: snap.scan })).flat());
  }

  private async drain(): Promise<void> {
    for (let snap = this.next; snap; snap = this.next) {
      this.next = null;
      await this.warm(snap).catch((err) => this.log.warn({ err }, 'threads could not load the new rules ahead'));
    }
  }
}
