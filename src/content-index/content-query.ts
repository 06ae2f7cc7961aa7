// Content searches (`content:` terms of VirusTotal Intelligence, as vt-cli's `vt search content`
// sends them) read into what runs them: one YARA pattern per term, the rule that verifies a file
// (every term's pattern found), and the trigrams that narrow the files worth verifying, planned
// from the same pattern texts by rule-grams.ts so that the rule and the plan never disagree.
import { badRequest, unselectiveContentQuery, unsupportedContentQuery } from '../model/errors.js';
import { allOf, type GramQuery } from './gram-query.js';
import { patternQuery, textBytes } from './rule-grams.js';

/** One `content:` term. */
export interface ContentTerm {
  /** The term as the query wrote it (for messages). */
  source: string;
  /** Its YARA pattern: a text string, a hex string or a regex. */
  pattern: string;
  kind: 'text' | 'hex' | 'regex';
  /** What a file must hold for the pattern to match; null: nothing the index can see. */
  grams: GramQuery | null;
}

export interface ContentQuery {
  terms: ContentTerm[];
  /** The rule that verifies a file: string `$t<i>` is term i, and all of them are required. */
  rule: string;
}

/** Terms in one query at most. */
export const MAX_TERMS = 16;

const PREFIX = 'content:';
/** A hex string's tokens: bytes (with nibble wildcards, `~` negation), jumps, alternatives. */
const HEX_TOKEN = /\s+|~?[0-9a-fA-F?]{2}|\[\s*\d*\s*(?:-\s*\d*\s*)?\]|[()|]/y;

/** Bytes as a YARA text string: printable ASCII as is, everything else escaped. */
function yaraText(bytes: Uint8Array): string {
  let s = '"';
  for (const b of bytes) s += b >= 0x20 && b <= 0x7e && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`;
  return `${s}"`;
}

/** The bytes of a quoted term's inside (escapes `\"` `\\` `\xHH` `\n` `\t` `\r`: YARA's, read as rules read them). */
function quotedBytes(inner: string, source: string): Uint8Array {
  const bytes = textBytes(inner);
  if (bytes) return bytes;
  const bad = /\\(x(?![0-9a-fA-F]{2})|[^nrtx\\"]|$)/.exec(inner.replace(/\\\\/g, '  '))?.[1] ?? '';
  throw unsupportedContentQuery(`${source}: unknown escape \\${bad} (use \\" \\\\ \\xHH \\n \\t or \\r)`);
}

/** End (exclusive) of a run delimited by `close` from `from`, skipping backslash escapes; -1 if none. */
function closingAt(s: string, from: number, close: string): number {
  for (let j = from; j < s.length; j++) {
    if (s[j] === '\\') j++;
    else if (s[j] === close) return j;
  }
  return -1;
}

/** The term whose value starts at `at` (just after `content:`); returns it and where it ends. */
function readTerm(q: string, start: number, at: number): { term: Omit<ContentTerm, 'grams'>; next: number } {
  const c = q[at];
  const word = (from: number) => {
    const m = /\S*/y;
    m.lastIndex = from;
    return m.exec(q)![0];
  };
  const source = (end: number) => q.slice(start, end);
  const mustEnd = (end: number) => {
    if (end < q.length && !/\s/.test(q[end]!)) throw unsupportedContentQuery(`${source(end)}${word(end)}: unexpected "${word(end)}" after the term (separate terms with spaces)`);
  };
  if (c === undefined || /\s/.test(c)) throw unsupportedContentQuery(`${PREFIX} is followed by nothing to search for`);
  if (c === '"') {
    const close = closingAt(q, at + 1, '"');
    if (close < 0) throw unsupportedContentQuery(`${source(q.length)}: no closing quote`);
    mustEnd(close + 1);
    const bytes = quotedBytes(q.slice(at + 1, close), source(close + 1));
    if (bytes.length === 0) throw unsupportedContentQuery(`${source(close + 1)}: an empty string matches nothing`);
    return { term: { source: source(close + 1), pattern: yaraText(bytes), kind: 'text' }, next: close + 1 };
  }
  if (c === '{') {
    const close = q.indexOf('}', at);
    if (close < 0) throw unsupportedContentQuery(`${source(q.length)}: no closing }`);
    mustEnd(close + 1);
    const body = q.slice(at + 1, close);
    for (HEX_TOKEN.lastIndex = 0; HEX_TOKEN.lastIndex < body.length;) {
      const from = HEX_TOKEN.lastIndex;
      if (!HEX_TOKEN.exec(body)) {
        throw unsupportedContentQuery(`${source(close + 1)}: "${body.slice(from, from + 8)}" is not hex: expected bytes (2 hex digits, ?? or a nibble wildcard like 4?, ~ to negate), jumps [n] or [n-m], or alternatives (a|b)`);
      }
    }
    if (!/[0-9a-fA-F?]/.test(body)) throw unsupportedContentQuery(`${source(close + 1)}: no bytes to search for`);
    return { term: { source: source(close + 1), pattern: `{ ${body.trim().replace(/\s+/g, ' ')} }`, kind: 'hex' }, next: close + 1 };
  }
  if (c === '/') {
    const close = closingAt(q, at + 1, '/');
    if (close < 0) throw unsupportedContentQuery(`${source(q.length)}: no closing / (write a slash inside a regex as \\/)`);
    const body = q.slice(at + 1, close);
    const flags = /[A-Za-z]*/y;
    flags.lastIndex = close + 1;
    const f = flags.exec(q)![0];
    const end = close + 1 + f.length;
    mustEnd(end);
    if (body === '') throw unsupportedContentQuery(`${source(end)}: an empty regex`);
    if (/[\0-\x1f]/.test(body)) throw unsupportedContentQuery(`${source(end)}: control characters in a regex (write them as \\xHH)`);
    if (!/^(i|s|is|si)?$/.test(f)) throw unsupportedContentQuery(`${source(end)}: unknown regex flag(s) "${f}" (i and s are supported)`);
    return { term: { source: source(end), pattern: `/${body}/${f}`, kind: 'regex' }, next: end };
  }
  const w = word(at);
  return { term: { source: source(at + w.length), pattern: yaraText(Buffer.from(w, 'utf8')), kind: 'text' }, next: at + w.length };
}

/**
 * Reads a search query made of `content:` terms, ANDed: `content:"text"`, `content:{hex}` (YARA's
 * hex syntax), `content:/regex/` (flags i, s) and `content:word`, separated by spaces (an `AND`
 * between them is allowed). Throws BadRequestError when there is no content term (other searches
 * are not supported) and UnsupportedContentQueryError, saying what is wrong, for a malformed term
 * or anything else in the query.
 */
export function parseContentQuery(query: string): ContentQuery {
  const terms: ContentTerm[] = [];
  const others: string[] = [];
  for (let i = 0; i < query.length;) {
    if (/\s/.test(query[i]!)) {
      i++;
      continue;
    }
    if (query.slice(i, i + PREFIX.length).toLowerCase() === PREFIX) {
      const { term, next } = readTerm(query, i, i + PREFIX.length);
      terms.push({ ...term, grams: patternQuery(term.pattern) });
      i = next;
      continue;
    }
    const w = /\S+/y;
    w.lastIndex = i;
    const word = w.exec(query)![0];
    if (word !== 'AND') others.push(word);
    i += word.length;
  }
  if (terms.length === 0) throw badRequest(query.trim() === '' ? 'a query is required (content:"text", content:{hex} or content:/regex/)' : 'only content: searches are supported (content:"text", content:{hex}, content:/regex/)');
  if (others.length > 0) {
    const w = others[0]!;
    throw unsupportedContentQuery(w === 'OR' || w === 'NOT'
      ? `${w} is not supported: content terms are all required (ANDed)`
      : `"${w}": only content: terms are supported in a content search (quote text with spaces: content:"two words")`);
  }
  if (terms.length > MAX_TERMS) throw unsupportedContentQuery(`${terms.length} content terms: at most ${MAX_TERMS}`);
  const strings = terms.map((t, i) => `    $t${i} = ${t.pattern}`).join('\n');
  return { terms, rule: `rule content_search {\n  strings:\n${strings}\n  condition:\n    all of them\n}\n` };
}

/**
 * The trigrams a query's files must hold (every term's, where it has any). Throws
 * UnselectiveContentQueryError when no term has any: the search would verify every stored file.
 */
export function contentGrams(q: ContentQuery): GramQuery {
  const grams = allOf(q.terms.map((t) => t.grams));
  if (grams) return grams;
  const which = q.terms.map((t) => t.source).join(' ');
  throw unselectiveContentQuery(
    `${which}: not selective enough. At least one term needs 3 consecutive known bytes ` +
      '(in hex, between wildcards and jumps; in a regex, outside groups, classes, optional characters and top-level alternatives)',
  );
}
