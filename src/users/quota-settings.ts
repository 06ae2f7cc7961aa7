// Setting quotas (model/quotas.ts) on a user or a group, as the API (`PATCH` with
// `attributes.quotas`) and the CLI (`trawl user quota`, `trawl group quota`) give them.
import { badRequest } from '../model/errors.js';
import { QUOTA_NAMES, type QuotaName } from '../model/quotas.js';
import type { QuotaSubject, Store } from '../store/store.js';

export type QuotaChanges = [QuotaName, number | null][];

/** One allowance: a non-negative integer, or null / "unlimited" for no limit. */
export function parseAllowance(name: string, v: unknown): number | null {
  if (v === null || v === 'unlimited') return null;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw badRequest(`quota "${name}" must be a non-negative integer or "unlimited", got ${JSON.stringify(v)}`);
  return n;
}

/** `{"api_requests_daily": {"allowed": 100}, "intelligence_hunting_rulesets": {"allowed": null}, ...}` (a bare number is accepted too). */
export function parseQuotaChanges(v: unknown): QuotaChanges {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('"quotas" must be an object {"<quota>": {"allowed": <n or null>}}');
  return Object.entries(v).map(([name, q]) => {
    if (!(QUOTA_NAMES as readonly string[]).includes(name)) throw badRequest(`unknown quota "${name}": expected one of ${QUOTA_NAMES.join(', ')}`);
    const allowed = q && typeof q === 'object' && !Array.isArray(q) ? (q as { allowed?: unknown }).allowed : q;
    return [name as QuotaName, parseAllowance(name, allowed)];
  });
}

export async function applyQuotaChanges(store: Store, subject: QuotaSubject, changes: QuotaChanges): Promise<void> {
  for (const [name, allowed] of changes) await store.setQuota(subject, name, allowed);
}
