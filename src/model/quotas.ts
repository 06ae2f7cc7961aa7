// Quotas as VirusTotal names them (spec 7.3): what each one limits, over which window, and the
// windows themselves (UTC minutes, days and natural months). Pure: the store keeps the counts,
// users/quota-meter.ts and users/quotas.ts enforce them.

/** Every quota Trawl enforces. Absent from a user's or group's settings: unlimited. */
export const QUOTA_NAMES = [
  'api_requests_minutely',
  'api_requests_daily',
  'intelligence_hunting_rulesets',
  'intelligence_retrohunt_jobs_monthly',
  'intelligence_downloads_monthly',
] as const;
export type QuotaName = (typeof QUOTA_NAMES)[number];

/** Allowed amounts by quota; a quota left out is unlimited. */
export type QuotaLimits = Partial<Record<QuotaName, number>>;

/**
 * Usage buckets counted exactly, at the action, in the same table as the API request buckets of
 * `api_usage` (which leaves them out): a Retrohunt job created, a file downloaded.
 */
export const RETROHUNT_BUCKET = 'quota:retrohunt_jobs';
export const DOWNLOAD_BUCKET = 'quota:downloads';
export const isQuotaBucket = (bucket: string) => bucket.startsWith('quota:');

/** A group as administrators manage it (spec 7.2). */
export interface GroupRecord {
  id: number;
  /** The group's id on the wire (`type: "group"`). */
  name: string;
  createdAt: number;
}

export interface GroupMember {
  userId: number;
  /** A group administrator (the `administrators` relationship) sees members' quotas and e-mail. */
  isAdmin: boolean;
}

/** UTC day as the store keys it: YYYYMMDD. */
export function dayOf(ms: number): number {
  const d = new Date(ms);
  return d.getUTCFullYear() * 10_000 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
}

/** The first day (YYYYMMDD) of the natural month of `ms`. */
export function monthStartOf(ms: number): number {
  return Math.floor(dayOf(ms) / 100) * 100 + 1;
}

/** The last day (YYYYMMDD, an upper bound) of the natural month of `ms`. */
export function monthEndOf(ms: number): number {
  return Math.floor(dayOf(ms) / 100) * 100 + 31;
}

/** Minutes since the epoch: the per-minute window (fixed, not sliding). */
export const minuteOf = (ms: number) => Math.floor(ms / 60_000);

/** YYYYMMDD -> "YYYY-MM-DD" (api_usage's keys). */
export function dayKey(day: number): string {
  const s = String(day);
  return `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}`;
}

/** "YYYYMMDD" (api_usage's parameters) -> its UTC midnight in ms, or null when not a real date. */
export function parseDay(text: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(text);
  if (!m) return null;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return dayOf(ms) === Number(text) ? ms : null;
}
