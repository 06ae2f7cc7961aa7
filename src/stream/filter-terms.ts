// The pieces every filter grammar shares (spec 1.7, 3.3, 4.2): splitting a filter into terms,
// and date values (UNIX seconds, YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS) with their +/- suffixes.
import { badRequest } from '../model/errors.js';

export interface Term {
  /** Lower-cased key; '' for a bare word. */
  key: string;
  value: string;
  /** The term as written, for error messages. */
  raw: string;
}

/**
 * Bounds on a filter, so one request cannot tie up the database: every tag term is one more
 * condition each notification must meet (50 tags took PostgreSQL 3.3 s, 900 kept it busy for
 * minutes; about 950 overflowed SQLite). Clients send a handful of terms.
 */
export const MAX_FILTER_CHARS = 4096;
export const MAX_FILTER_TERMS = 32;
export const MAX_TAG_TERMS = 16;
// A bare word is a tag too where hunting_notification_files takes it as one.
const TAG_KEYS = new Set(['tag', 'notification_tag', '']);

/**
 * Splits a filter into `key:value` terms and bare words. A hand-written `date:2024-01-01+` whose
 * `+` was decoded as a space (spec 10.25) arrives as the date followed by an extra space: a date
 * without suffix followed by an empty term (two spaces, or one at the end) gets its `+` back.
 */
export function splitTerms(filter: string | undefined): Term[] {
  if (!filter) return [];
  if (filter.length > MAX_FILTER_CHARS) throw badRequest(`filter is too long: ${filter.length} characters, at most ${MAX_FILTER_CHARS}`);
  const pieces = filter.split(' ');
  const out: Term[] = [];
  for (let i = 0; i < pieces.length; i++) {
    for (const raw of pieces[i]!.split(/[\t\r\n\f\v]+/).filter(Boolean)) {
      const colon = raw.indexOf(':');
      const key = colon > 0 ? raw.slice(0, colon).toLowerCase() : '';
      let value = colon > 0 ? raw.slice(colon + 1) : raw;
      if (key === 'date' && /\d$/.test(value) && pieces[i + 1] === '') {
        value += '+';
        i++;
      }
      out.push({ key, value, raw });
    }
  }
  if (out.length > MAX_FILTER_TERMS) throw badRequest(`filter has ${out.length} terms, at most ${MAX_FILTER_TERMS}`);
  if (out.filter((t) => TAG_KEYS.has(t.key)).length > MAX_TAG_TERMS) throw badRequest(`filter has more than ${MAX_TAG_TERMS} tag terms`);
  return out;
}

/** A half-open range of UNIX seconds; either end may be open. */
export interface DateRange {
  from?: number;
  to?: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?Z?)?$/;

/** A date value as [start, length in seconds]; null when it is not one. */
function instant(v: string): [number, number] | null {
  if (/^\d{1,12}$/.test(v)) return [Number(v), 1];
  const m = DATE.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  const back = new Date(t);
  if (Number.isNaN(t) || back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1) return null;
  return [t / 1000, h === undefined ? 86_400 : s === undefined ? 60 : 1];
}

/**
 * A `date:` value: `X+` is from X on, `X-` before X, a bare X that day (or second). Throws
 * BadRequestError naming the term and the accepted forms.
 */
export function parseDateTerm(t: Term): DateRange {
  const suffix = /[+-]$/.test(t.value) && instant(t.value.slice(0, -1)) ? t.value.slice(-1) : '';
  const at = instant(suffix ? t.value.slice(0, -1) : t.value);
  if (!at) {
    throw badRequest(
      `invalid filter term "${t.raw}": dates are UNIX timestamps, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS (UTC), ` +
        'optionally followed by + (from) or - (before)',
    );
  }
  if (suffix === '+') return { from: at[0] };
  if (suffix === '-') return { to: at[0] };
  return { from: at[0], to: at[0] + at[1] };
}

/** The intersection of two ranges (a contradictory window is simply empty). */
export function intersect(a: DateRange, b: DateRange): DateRange {
  const from = a.from === undefined ? b.from : b.from === undefined ? a.from : Math.max(a.from, b.from);
  const to = a.to === undefined ? b.to : b.to === undefined ? a.to : Math.min(a.to, b.to);
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

/** `order` of notification lists: `date-` (the default, newest first) or `date+` (`date` alone too). */
export function parseDateOrder(order: string | undefined): 'asc' | 'desc' {
  const o = (order ?? '').trim();
  if (o === '' || o === 'date-') return 'desc';
  if (o === 'date+' || o === 'date') return 'asc';
  throw badRequest(`invalid order "${order}": use date- (newest first) or date+ (oldest first)`);
}
