// Whether one notification is selected by a NotificationQuery, evaluated in memory: the live feed
// matches each new notification against every follower's query with it.
import type { NotificationPosition, NotificationQuery, NotificationRecord } from '../store/store.js';

/** Whether `n` comes after `p` in (date, id) order. */
export const isAfter = (n: NotificationPosition, p: NotificationPosition) => n.date > p.date || (n.date === p.date && n.id > p.id);

export function matchesQuery(q: NotificationQuery, n: NotificationRecord): boolean {
  if (!q.scope.ownerIds.includes(n.ownerId) && !q.scope.rulesetIds.includes(n.rulesetId)) return false;
  if (q.dateFrom !== undefined && n.date < q.dateFrom) return false;
  if (q.dateTo !== undefined && n.date >= q.dateTo) return false;
  if (q.entityId !== undefined && n.sha256 !== q.entityId) return false;
  if (q.sourceIds !== undefined && !q.sourceIds.includes(n.rulesetId)) return false;
  return (q.tags ?? []).every((t) => n.tags.includes(t));
}
