// The quota flags of `trawl user quota` and `trawl group quota`: one per quota, a number or
// "unlimited" (model/quotas.ts).
import type { Writable } from 'node:stream';
import { QUOTA_NAMES, type QuotaLimits, type QuotaName } from '../model/quotas.js';
import type { QuotaChanges } from '../users/quota-settings.js';
import { parseAllowance } from '../users/quota-settings.js';

export const QUOTA_FLAGS: Record<string, QuotaName> = {
  'api-requests-minutely': 'api_requests_minutely',
  'api-requests-daily': 'api_requests_daily',
  'hunting-rulesets': 'intelligence_hunting_rulesets',
  'retrohunt-jobs-monthly': 'intelligence_retrohunt_jobs_monthly',
  'downloads-monthly': 'intelligence_downloads_monthly',
};

export const quotaOptions = Object.fromEntries(Object.keys(QUOTA_FLAGS).map((f) => [f, { type: 'string' }])) as Record<string, { type: 'string' }>;

export const quotaFlagsUsage = '[--api-requests-minutely N] [--api-requests-daily N] [--hunting-rulesets N] [--retrohunt-jobs-monthly N] [--downloads-monthly N]   (N or "unlimited")';

export function quotaChangesOf(values: Record<string, unknown>): QuotaChanges {
  return Object.entries(QUOTA_FLAGS).flatMap(([flag, name]): QuotaChanges =>
    values[flag] === undefined ? [] : [[name, parseAllowance(`--${flag}`, values[flag])]]);
}

export function printQuotas(out: Writable, limits: QuotaLimits): void {
  for (const name of QUOTA_NAMES) out.write(`${name}\t${limits[name] ?? 'unlimited'}\n`);
}
