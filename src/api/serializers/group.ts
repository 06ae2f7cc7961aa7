// Group objects (spec 7.2, `type: "group"`, id = the group's name). Quotas are shown to members
// and administrators; anyone else never sees the group at all (routes/groups.ts).
import type { GroupRecord, QuotaLimits } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { UNLIMITED } from '../../users/quotas.js';
import { QUOTA_NAMES } from '../../model/quotas.js';

export function groupObject(origin: string, g: GroupRecord, limits?: QuotaLimits): VtObject {
  const a: Record<string, unknown> = { creation_date: g.createdAt };
  if (limits) a.quotas = Object.fromEntries(QUOTA_NAMES.map((n) => [n, { allowed: limits[n] ?? UNLIMITED }]));
  return { type: 'group', id: g.name, links: { self: absoluteUrl(origin, `/api/v3/groups/${g.name}`) }, attributes: a };
}

export const groupDescriptor = (g: GroupRecord) => ({ type: 'group', id: g.name });
