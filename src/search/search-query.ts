// VirusTotal Intelligence's file search syntax, read into a SearchExpr (model/file-search.ts):
// `modifier:value` terms and bare hashes, AND (implicit by space), OR, NOT, `-modifier:` and
// parentheses. Its own grammar on purpose: the list filters (stream/filter-terms.ts) are AND-only.
import { badRequest } from '../model/errors.js';
import type { Bound, SearchExpr, SearchTerm } from '../model/file-search.js';

/** Bounds on one query, so one request cannot build a statement that ties up the database. */
export const MAX_QUERY_CHARS = 4096;
export const MAX_QUERY_TERMS = 32;
const MAX_DEPTH = 16;

type Token = { kind: '(' | ')' | 'word'; text: string; at: number };

const HASH_COLUMN: Record<number, 'md5' | 'sha1' | 'sha256'> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };
const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1 << 20, mb: 1 << 20, g: 1 << 30, gb: 1 << 30 };
const RELATIVE_UNITS: Record<string, number> = { m: 60, h: 3600, d: 86_400 };
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2}))?Z?)?$/;
export const SEARCH_MODIFIERS = ['type', 'size', 'fs', 'ls', 'name', 'tag', 'magic', 'submissions', 'bundled', 'parent', 'crowdsourced_yara_rule'];

/** Splits the query into parentheses and words; a word may hold a quoted value with spaces. */
function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '(' || c === ')') { out.push({ kind: c, text: c, at: i }); i++; continue; }
    const start = i;
    let text = '';
    while (i < q.length && !/[\s()]/.test(q[i]!)) {
      if (q[i] === '"') {
        const end = q.indexOf('"', i + 1);
        if (end < 0) throw badRequest(`unterminated quote at character ${i + 1} of the query`);
        text += q.slice(i, end + 1);
        i = end + 1;
      } else text += q[i++];
    }
    out.push({ kind: 'word', text, at: start });
  }
  return out;
}

const unquote = (v: string) => (/^".*"$/s.test(v) ? v.slice(1, -1) : v);

function hashOf(raw: string, term: string): { column: 'md5' | 'sha1' | 'sha256'; value: string } {
  const column = HASH_COLUMN[raw.length];
  if (!column || !/^[0-9a-f]+$/i.test(raw)) throw badRequest(`"${term}": expected an MD5, SHA-1 or SHA-256`);
  return { column, value: raw.toLowerCase() };
}

/** A trailing `+` (at least) or `-` (at most) of a range value. */
function suffixOf(v: string): { body: string; op: Bound['op'] } {
  if (v.endsWith('+')) return { body: v.slice(0, -1), op: '>=' };
  if (v.endsWith('-')) return { body: v.slice(0, -1), op: '<=' };
  return { body: v, op: '=' };
}

function sizeTerm(v: string, term: string): SearchExpr {
  const { body, op } = suffixOf(v);
  const m = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(body);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw badRequest(`"${term}": sizes are a number with an optional unit (b, kb, mb, gb) and + (at least) or - (at most), e.g. size:10kb+`);
  return leaf({ kind: 'size', bound: { op, value: Math.round(Number(m[1]) * unit) } });
}

/** A date as [start, length in seconds]: YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS], a UNIX time, or Nd/Nh/Nm ago. */
function instant(v: string, now: number): [number, number] | null {
  if (/^\d{9,12}$/.test(v)) return [Number(v), 1];
  const rel = /^(\d{1,6})([dhm])$/.exec(v);
  if (rel) return [now - Number(rel[1]) * RELATIVE_UNITS[rel[2]!]!, 1];
  const m = DATE.exec(v);
  if (!m) return null;
  const [, y, mo, d, h, mi, s] = m;
  const t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0));
  const back = new Date(t);
  if (back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1) return null;
  return [t / 1000, h === undefined ? 86_400 : s === undefined ? 60 : 1];
}

/** `fs:X+` from X on, `fs:X-` before X, a bare `fs:X` within that day (minute, second). */
function dateTerm(kind: 'fs' | 'ls', v: string, term: string, now: number): SearchExpr {
  const { body, op } = suffixOf(v);
  const at = instant(body, now);
  if (!at) throw badRequest(`"${term}": dates are YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (UTC), a UNIX time or 7d/12h/30m (ago), with + (from then on) or - (before)`);
  const [start, length] = at;
  if (op === '>=') return leaf({ kind, bound: { op: '>=', value: start } });
  if (op === '<=') return leaf({ kind, bound: { op: '<', value: start } });
  return { kind: 'and', items: [leaf({ kind, bound: { op: '>=', value: start } }), leaf({ kind, bound: { op: '<', value: start + length } })] };
}

const leaf = (term: SearchTerm): SearchExpr => ({ kind: 'term', term });

/**
 * A hand-written `size:10kb+` sent unencoded arrives with its `+` decoded as a space (spec 10.25):
 * a range value without a sign followed by an extra space (two, or one at the end) gets it back,
 * as the list filters' `date:` does (stream/filter-terms.ts). Form-encoding clients never send that.
 */
const restorePluses = (q: string) => q.replace(/(^|[\s(])(-?(?:size|fs|ls|submissions):[0-9](?:[^\s()"]*[0-9a-z])?)(?= {2}| $)/gi, '$1$2+');

/** One `modifier:value` term or bare word, checked. `now` (UNIX seconds) anchors relative dates. */
function termOf(word: string, now: number): SearchExpr {
  const colon = word.indexOf(':');
  if (colon <= 0) {
    if (/^[0-9a-f]+$/i.test(word) && HASH_COLUMN[word.length]) return leaf({ kind: 'hash', ...hashOf(word, word) });
    throw badRequest(`"${word}": a bare word must be an MD5, SHA-1 or SHA-256; other terms are modifier:value (${SEARCH_MODIFIERS.join(', ')})`);
  }
  const key = word.slice(0, colon).toLowerCase();
  const raw = word.slice(colon + 1);
  const v = unquote(raw);
  if (v === '') throw badRequest(`"${word}": the modifier ${key}: has no value`);
  switch (key) {
    case 'md5': case 'sha1': case 'sha256': {
      const h = hashOf(v, word);
      if (h.column !== key) throw badRequest(`"${word}": not a ${key.toUpperCase()}`);
      return leaf({ kind: 'hash', ...h });
    }
    case 'type': return leaf({ kind: 'type', value: v.toLowerCase() });
    case 'size': return sizeTerm(v, word);
    case 'fs': case 'ls': return dateTerm(key, v, word, now);
    case 'name': case 'magic': return leaf({ kind: key, value: v.toLowerCase() });
    case 'tag': return leaf({ kind: 'tag', value: v.toLowerCase() });
    case 'submissions': {
      const { body, op } = suffixOf(v);
      if (!/^\d{1,12}$/.test(body)) throw badRequest(`"${word}": submissions takes a count with + (at least) or - (at most), e.g. submissions:5+`);
      return leaf({ kind: 'submissions', bound: { op, value: Number(body) } });
    }
    case 'bundled': {
      const b = v.toLowerCase();
      if (b === 'true' || b === '1') return leaf({ kind: 'bundled', value: true });
      if (b === 'false' || b === '0') return leaf({ kind: 'bundled', value: false });
      // bundled:<hash> reads as "bundled in <hash>": the same as parent:<hash>.
      return leaf({ kind: 'parent', ...hashOf(v, word) });
    }
    case 'parent': return leaf({ kind: 'parent', ...hashOf(v, word) });
    case 'crowdsourced_yara_rule': {
      // VirusTotal's values are `<ruleset id>|<rule name>`; the rule name is what Trawl keeps.
      const rule = v.slice(v.lastIndexOf('|') + 1);
      if (rule === '') throw badRequest(`"${word}": no rule name`);
      return leaf({ kind: 'rule', value: rule });
    }
    default:
      throw badRequest(`unknown search modifier "${key}:" in "${word}"; Trawl searches stored files by a hash or ${SEARCH_MODIFIERS.map((m) => `${m}:`).join(', ')}`);
  }
}

/**
 * Reads a search query. Throws BadRequestError, naming the offending term, for an unknown
 * modifier, a malformed value, unbalanced parentheses, a dangling AND/OR/NOT, an empty query,
 * or one over MAX_QUERY_CHARS / MAX_QUERY_TERMS. `now` (UNIX seconds) anchors `fs:7d+`.
 */
export function parseSearchQuery(query: string, now = Math.floor(Date.now() / 1000)): SearchExpr {
  if (query.length > MAX_QUERY_CHARS) throw badRequest(`the query is too long: ${query.length} characters, at most ${MAX_QUERY_CHARS}`);
  const tokens = tokenize(restorePluses(query));
  if (tokens.length === 0) throw badRequest('a query is required: a hash, modifier:value terms (type:peexe size:10kb+) or content: terms');
  if (tokens.filter((t) => t.kind === 'word').length > MAX_QUERY_TERMS) throw badRequest(`the query has more than ${MAX_QUERY_TERMS} terms`);
  let at = 0;
  const peek = () => tokens[at];
  const isOp = (t: Token | undefined, op: string) => t?.kind === 'word' && t.text.toUpperCase() === op;
  const fail = (what: string): never => {
    const t = peek();
    throw badRequest(t ? `${what} at "${t.text}" (character ${t.at + 1} of the query)` : `${what} at the end of the query`);
  };

  const or = (depth: number): SearchExpr => {
    if (depth > MAX_DEPTH) fail(`parentheses nested deeper than ${MAX_DEPTH}`);
    const items = [and(depth)];
    while (isOp(peek(), 'OR')) { at++; items.push(and(depth)); }
    return items.length === 1 ? items[0]! : { kind: 'or', items };
  };
  const and = (depth: number): SearchExpr => {
    const items = [unary(depth)];
    for (;;) {
      const t = peek();
      if (!t || t.kind === ')' || isOp(t, 'OR')) break;
      if (isOp(t, 'AND')) at++;
      items.push(unary(depth));
    }
    return items.length === 1 ? items[0]! : { kind: 'and', items };
  };
  const unary = (depth: number): SearchExpr => {
    const t = peek();
    if (!t) return fail('expected a term');
    if (isOp(t, 'NOT')) { at++; return { kind: 'not', item: unary(depth) }; }
    if (isOp(t, 'AND') || isOp(t, 'OR')) return fail(`expected a term before ${t.text.toUpperCase()}`);
    if (t.kind === ')') return fail('expected a term');
    if (t.kind === '(') {
      at++;
      const inner = or(depth + 1);
      if (peek()?.kind !== ')') fail('missing ")"');
      at++;
      return inner;
    }
    at++;
    if (t.text === '-') {
      // `-(a OR b)`: the negation of a group.
      if (peek()?.kind !== '(') fail('"-" negates a modifier or a group');
      return { kind: 'not', item: unary(depth) };
    }
    if (t.text.startsWith('-')) return { kind: 'not', item: termOf(t.text.slice(1), now) };
    return termOf(t.text, now);
  };

  const expr = or(0);
  if (at < tokens.length) fail(peek()!.kind === ')' ? 'unbalanced ")"' : 'unexpected term');
  return expr;
}

/** The bare hash of a query that is nothing else (VirusTotal answers it with that file). */
export function loneHash(expr: SearchExpr): Extract<SearchTerm, { kind: 'hash' }> | null {
  return expr.kind === 'term' && expr.term.kind === 'hash' ? expr.term : null;
}
