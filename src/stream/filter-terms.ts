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
 * Splits a filter into `key:value` terms and bare words. A hand-written `date:2024-01-01+` whose
 * `+` was decoded as a space (spec 10.25) arrives as the date followed by an extra space: a date
 * without suffix followed by an empty term (two spaces, or one at the end) gets its `+` back.
 */
export function splitTerms(filter: string | undefined): Term[] {
  if (!filter) return [];
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
