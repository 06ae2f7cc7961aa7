// Which quotas bind a user: their own, and their quota group's (VirusTotal's `api_quota_group`,
// spec 7.1), whose allowance all its members share. A user's quota group is the oldest of their
// groups (lowest id); a user in no group has none.
import type { QuotaLimits } from '../model/quotas.js';
import type { GroupRecord, Store } from '../store/store.js';

export interface QuotaPlan {
  userId: number;
  limits: QuotaLimits;
  group: { record: GroupRecord; limits: QuotaLimits; memberIds: number[] } | null;
}

/** The user's quota group (the oldest of their groups), or null. */
export async function quotaGroupOf(store: Store, userId: number): Promise<GroupRecord | null> {
  return (await store.groupsOf(userId))[0] ?? null;
}

/** Reads a user's plan from the store (a few queries: callers cache it, see QuotaMeter). */
export async function loadQuotaPlan(store: Store, userId: number): Promise<QuotaPlan> {
  const [limits, group] = await Promise.all([store.getQuotas({ kind: 'user', id: userId }), quotaGroupOf(store, userId)]);
  if (!group) return { userId, limits, group: null };
  const [groupLimits, members] = await Promise.all([store.getQuotas({ kind: 'group', id: group.id }), store.groupMembers(group.id)]);
  return { userId, limits, group: { record: group, limits: groupLimits, memberIds: members.map((m) => m.userId) } };
}

/** Whether a plan limits API requests at all (else the meter only counts). */
export function limitsRequests(p: QuotaPlan): boolean {
  const has = (l: QuotaLimits) => l.api_requests_daily !== undefined || l.api_requests_minutely !== undefined;
  return has(p.limits) || (p.group !== null && has(p.group.limits));
}
