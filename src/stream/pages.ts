// What every notification list shares: a page out of one row more than asked for (to know
// whether another follows), meta.count, and deleting everything a query selects, batch by batch.
import type { NotificationPosition, NotificationQuery, Store } from '../store/store.js';

/** The first `limit` rows, and the position after the last when more follow. */
export function pageOf<T>(rows: T[], limit: number, positionOf: (row: T) => NotificationPosition): { items: T[]; next?: NotificationPosition } {
  const items = rows.slice(0, limit);
  const last = items.length ? positionOf(items[items.length - 1]!) : undefined;
  return { items, ...(rows.length > limit && last ? { next: { date: last.date, id: last.id } } : {}) };
}

/** Deletes what `q` selects, `batch` at a time, each in its own transaction; returns how many. */
export async function deleteAllOf(store: Store, q: NotificationQuery, batch: number): Promise<number> {
  const each = { ...q, order: 'asc' as const, limit: batch, after: undefined };
  let deleted = 0;
  for (;;) {
    const found = await store.listNotificationIds(each);
    if (found.length === 0) return deleted;
    deleted += await store.deleteNotifications(found);
  }
}

/**
 * meta.count for lists: counting walks up to `cap` index entries, the dearest part of a page after
 * its rows, and a client paging through a large list asks the same count on every page. A count
 * that reached its cap is kept for a second: while it is kept, pages say `cap` without counting.
 * Counts below the cap are cheap and always exact.
 */
export class NotificationCounts {
  private readonly capped = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly keepMs = 1000,
  ) {}

  async count(q: NotificationQuery, cap: number): Promise<number> {
    const { after: _after, limit: _limit, order: _order, signal: _signal, ...selection } = q;
    const key = `${cap} ${JSON.stringify(selection)}`;
    const until = this.capped.get(key);
    if (until !== undefined && until > Date.now()) return cap;
    const n = await this.store.countNotifications(q, cap);
    if (n < cap) this.capped.delete(key);
    else {
      if (this.capped.size >= 10_000) this.capped.clear();
      this.capped.set(key, Date.now() + this.keepMs);
    }
    return n;
  }
}
