// The one filter mini-language of every list (spec 1.7): a tokenizer of space-separated
// `key:value` terms, bare words and quoted values, the per-endpoint dialects (spec 2.3, 3.3, 4.2,
// 5.2: which keys, aliases, what a bare word means) and the value kinds the terms share: booleans,
// dates with +/- suffixes, file hashes. Pure: endpoints turn terms into queries or predicates.
import { badRequest } from './errors.js';

export interface Term {
  /** The dialect's canonical key (lower-case); a bare word gets the key its dialect gives it. */
  key: string;
  /** Unquoted and unescaped. */
  value: string;
  /** The term as written, for error messages. */
  raw: string;
  /** Written without `key:`. */
  bare: boolean;
}

/** What one endpoint's filter accepts. */
export interface FilterDialect {
  keys: readonly string[];
  /** Other spellings of keys (IoC Stream `tag:` for `notification_tag:`). */
  aliases?: Readonly<Record<string, string>>;
  /** The key a bare word stands for; absent: a bare word is refused. */
  bareWord?: string;
  /** Keys whose terms each add a condition per row (tags): bounded by MAX_TAG_TERMS. */
  tagKeys?: readonly string[];
}

/**
 * Bounds on a filter, so one request cannot tie up the database: every tag term is one more
 * condition each notification must meet (50 tags took PostgreSQL 3.3 s, 900 kept it busy for
 * minutes; about 950 overflowed SQLite). Clients send a handful of terms.
 */
export const MAX_FILTER_CHARS = 4096;
export const MAX_FILTER_TERMS = 32;
export const MAX_TAG_TERMS = 16;

const SPACE = /[ \t\r\n\f\v]/;
const QUOTES = new Set(['"', "'"]);

/** Index of the quote closing the one at `open`, honouring backslash escapes; -1 if none. */
function closingQuote(s: string, open: number): number {
  for (let i = open + 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === s[open]) return i;
  }
  return -1;
}

/** The text between two quotes with `\"`, `\'` and `\\` unescaped; other backslashes kept. */
function unescape(s: string): string {
  return s.replace(/\\(["'\\])/g, '$1');
}

interface Token {
  key: string | null;
  value: string;
  raw: string;
  /** Index just past the token. */
  end: number;
}

/**
 * One token from `start` (not a space): a `key:` (text before the first colon, unless the token
 * opens with a quote) and a value, which may open with a quoted part ('...' or "...") and run on
 * until a space. A quote with no closing partner is an ordinary character.
 */
function readToken(s: string, start: number): Token {
  let i = start;
  let key: string | null = null;
  let value = '';
  let valueStart = true;
  while (i < s.length && !SPACE.test(s[i]!)) {
    const c = s[i]!;
    if (valueStart && QUOTES.has(c)) {
      const close = closingQuote(s, i);
      if (close > 0) {
        value += unescape(s.slice(i + 1, close));
        i = close + 1;
        valueStart = false;
        continue;
      }
    }
    if (c === ':' && key === null && value !== '' && !QUOTES.has(s[start]!)) {
      key = value;
      value = '';
      valueStart = true;
      i++;
      continue;
    }
    value += c;
    valueStart = false;
    i++;
  }
  return { key, value, raw: s.slice(start, i), end: i };
}

/**
 * Splits a filter into terms with the raw (lower-cased) key; '' for a bare word. A hand-written
 * `date:2024-01-01+` whose `+` was decoded as a space (spec 10.25) arrives as the date followed by
 * two spaces or one at the end: a date without suffix so followed gets its `+` back. The word
 * `and` between terms (as in VirusTotal Intelligence searches) is only a connector: terms are
 * always AND-combined.
 */
export function tokenize(filter: string | undefined): Term[] {
  if (!filter) return [];
  if (filter.length > MAX_FILTER_CHARS) throw badRequest(`filter is too long: ${filter.length} characters, at most ${MAX_FILTER_CHARS}`);
  const out: Term[] = [];
  let i = 0;
  while (i < filter.length) {
    if (SPACE.test(filter[i]!)) {
      i++;
      continue;
    }
    const t = readToken(filter, i);
    i = t.end;
    // `and` is a connector; `""` (an empty quoted word) says nothing.
    if (t.key === null && (t.raw.toLowerCase() === 'and' || t.value === '')) continue;
    const key = (t.key ?? '').toLowerCase();
    let value = t.value;
    if (key === 'date' && /\d$/.test(value) && filter[i] === ' ' && (i + 1 === filter.length || filter[i + 1] === ' ')) value += '+';
    out.push({ key, value, raw: t.raw, bare: t.key === null });
    if (out.length > MAX_FILTER_TERMS) throw badRequest(`filter has more than ${MAX_FILTER_TERMS} terms`);
  }
  return out;
}

const keyList = (d: FilterDialect) => [...d.keys, ...Object.keys(d.aliases ?? {})].join(', ');

/**
 * The terms of `filter` in `d`'s dialect, keys made canonical. A bare word where the dialect has
 * none, an unknown key or an empty value is BadRequestError naming the term and the valid keys.
 */
export function parseFilter(filter: string | undefined, d: FilterDialect): Term[] {
  const terms = tokenize(filter).map((t): Term => {
    if (t.bare) {
      if (!d.bareWord) throw badRequest(`invalid filter term "${t.raw}": expected key:value with key ${keyList(d)}`);
      return { ...t, key: d.bareWord };
    }
    const key = d.aliases?.[t.key] ?? t.key;
    if (!d.keys.includes(key)) throw badRequest(`invalid filter term "${t.raw}": unknown key "${t.key}"; valid keys are ${keyList(d)}`);
    if (t.value === '') throw badRequest(`invalid filter term "${t.raw}": "${t.key}" needs a value`);
    return { ...t, key };
  });
  if (terms.filter((t) => d.tagKeys?.includes(t.key)).length > MAX_TAG_TERMS) throw badRequest(`filter has more than ${MAX_TAG_TERMS} tag terms`);
  return terms;
}

/**
 * A boolean value: true or false in any case (Python clients send `True`/`False`, spec 1.7's
 * examples are lower-case), 1 or 0 too, as `descriptors_only=` takes them.
 */
export function booleanValue(t: Term): boolean {
  const v = t.value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw badRequest(`invalid filter term "${t.raw}": ${t.key} must be true or false`);
}

/** `value` if it is one of `valid` (in any case); else the BadRequestError VirusTotal words (spec 1.8). */
export function oneOf<T extends string>(what: string, value: string, valid: readonly T[]): T {
  const v = value.toLowerCase();
  if (!(valid as readonly string[]).includes(v)) throw badRequest(`${what} "${value}" is not valid. Valid ${what}s are: ${valid.join(',')}`);
  return v as T;
}

export type HashKind = 'md5' | 'sha1' | 'sha256';

/** The kind of file hash `value` is (by length, any case), or null. */
export function hashKind(value: string): HashKind | null {
  if (!/^[0-9a-f]+$/i.test(value)) return null;
  return value.length === 32 ? 'md5' : value.length === 40 ? 'sha1' : value.length === 64 ? 'sha256' : null;
}

/** A half-open range of UNIX seconds; either end may be open. */
export interface DateRange {
  from?: number;
  to?: number;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** A date value as [start, length in seconds]; null when it is not one. */
function instant(v: string): [number, number] | null {
  if (/^\d{1,12}$/.test(v)) return [Number(v), 1];
  const m = DATE.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, zone] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  const back = new Date(t);
  if (Number.isNaN(t) || back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1) return null;
  // An explicit offset (`+02:00`, as Python's isoformat writes it) is honoured; none means UTC.
  const offset = zone && zone !== 'Z' ? (zone[0] === '-' ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(-2))) * 60 : 0;
  return [t / 1000 - offset, h === undefined ? 86_400 : s === undefined ? 60 : 1];
}

/**
 * A `date:` value: `X+` is from X on, `X-` before X, a bare X that day (or minute, or second).
 * X is UNIX seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS] (UTC unless an offset is written).
 * Throws BadRequestError naming the term and the accepted forms.
 */
export function dateRange(t: Term): DateRange {
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
