// What every notification list shares: a page out of one row more than asked for (to know
// whether another follows), and deleting everything a query selects, batch by batch.
import type { NotificationPosition, NotificationQuery, NotificationRecord, Store } from '../store/store.js';

/** The first `limit` rows, and the position after the last when more follow. */
export function pageOf<T>(rows: T[], limit: number, notificationOf: (row: T) => NotificationRecord): { items: T[]; next?: NotificationPosition } {
  const items = rows.slice(0, limit);
  const last = items.length ? notificationOf(items[items.length - 1]!) : undefined;
  return { items, ...(rows.length > limit && last ? { next: { date: last.date, id: last.id } } : {}) };
}

/** Deletes what `q` selects, `batch` at a time, each in its own transaction; returns how many. */
export async function deleteAllOf(store: Store, q: NotificationQuery, batch: number): Promise<number> {
  const each = { ...q, order: 'asc' as const, limit: batch, after: undefined };
  let deleted = 0;
  for (;;) {
    const found = await store.listNotifications(each);
    if (found.length === 0) return deleted;
    deleted += await store.deleteNotifications(found.map((n) => n.id));
  }
}
