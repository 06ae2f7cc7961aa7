// The rulesets other users share with each user (who edits them): part of the scope of every page
// of notifications. On PostgreSQL that lookup was a round trip of its own per page, about a sixth
// of a page's CPU in Trawl and in the database, for an answer that changes only when someone
// grants, revokes, transfers or deletes. So it is kept per user for a second:
// - a change made through this process is seen at once: `changed()` moves an epoch, and every
//   page request carries the epoch to the page thread (stream/stream-pages.ts), which drops what it kept;
// - a change made through another API process is seen within `ttlMs`, as a disabled user or a
//   rotated key is (auth.ts).
import type { Store } from '../../store/store.js';

export interface SharedRuleset {
  id: number;
  ownerId: number;
}

interface Kept {
  until: number;
  rulesets: readonly SharedRuleset[];
}

export class SharedRulesets {
  private current = 0;
  private readonly kept = new Map<number, Kept>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 1000,
    private readonly capacity = 10_000,
  ) {}

  /** Moves on with every change to who edits or owns a ruleset made through this process. */
  get epoch(): number {
    return this.current;
  }

  /** Called once a change to who edits or owns a ruleset is committed. */
  changed(): void {
    this.sync(this.current + 1);
  }

  /** Adopts the epoch of the thread that makes the changes: what was kept before it is dropped. */
  sync(epoch: number): void {
    if (epoch === this.current) return;
    this.current = epoch;
    this.kept.clear();
  }

  async of(userId: number): Promise<readonly SharedRuleset[]> {
    const now = Date.now();
    const hit = this.kept.get(userId);
    if (hit && hit.until > now) return hit.rulesets;
    const epoch = this.current;
    const rulesets = await this.store.sharedRulesets(userId);
    // Read across a change: right for the request that asked, but perhaps older than the change.
    if (epoch === this.current) {
      if (this.kept.size >= this.capacity) this.kept.clear();
      this.kept.set(userId, { until: now + this.ttlMs, rulesets });
    }
    return rulesets;
  }
}
