// Which trigrams a file must hold for any rule of a YARA source to match it: the plan a retrohunt
// job narrows the corpus with. Sound before all: a requirement is derived only where the rule's
// meaning forces it, and anything else (modules, `not`, arithmetic, xor and base64 strings, short
// literals, constructs not understood) is "no requirement", which at worst scans more files. A
// source whose rules are not all bounded gets no plan: every file is scanned.
//
// The source was compiled by YARA-X before it gets here, so the lexer can trust its shape; what
// it does not recognise ends in "no requirement", never in an error.
import { allOf, anyOf, literalQuery, type GramQuery } from './gram-query.js';

type Tok =
  | { t: 'id'; v: string }
  | { t: 'var'; v: string } // $a, $a*, $
  | { t: 'count'; v: string } // #a
  | { t: 'num'; v: number }
  | { t: 'text'; bytes: Uint8Array | null } // null: an escape not understood
  | { t: 'regex'; src: string; mods: string }
  | { t: 'hex'; body: string }
  | { t: 'p'; v: string }; // punctuation and operators

const ID = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUM = /(0x[0-9a-fA-F]+|0o[0-7]+|\d+(?:\.\d+)?)(KB|MB)?/y;
const OPS = ['==', '!=', '<=', '>=', '<<', '>>', '..'];

/** The bytes of a `"..."` literal's inside; null when an escape is not one YARA-X defines. */
export function textBytes(inner: string): Uint8Array | null {
  const out: number[] = [];
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (c !== '\\') {
      // ASCII as is (a Buffer per character made this most of a 300-rule plan's 135 ms).
      const code = c.charCodeAt(0);
      if (code < 0x80) out.push(code);
      else out.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const e = inner[++i];
    if (e === 'n') out.push(10);
    else if (e === 't') out.push(9);
    else if (e === 'r') out.push(13);
    else if (e === '\\' || e === '"') out.push(e.charCodeAt(0));
    else if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(inner.slice(i + 1, i + 3))) {
      out.push(parseInt(inner.slice(i + 1, i + 3), 16));
      i += 2;
    } else return null;
  }
  return Uint8Array.from(out);
}

/** Tokens of a YARA source; `{...}` right after `=` is a hex pattern, `/.../` a regex after `=` or `matches`. */
function tokenize(s: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  const prev = () => out[out.length - 1];
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '/' && s[i + 1] === '/') {
      const nl = s.indexOf('\n', i);
      i = nl < 0 ? s.length : nl;
      continue;
    }
    if (c === '/' && s[i + 1] === '*') {
      const end = s.indexOf('*/', i + 2);
      i = end < 0 ? s.length : end + 2;
      continue;
    }
    const p = prev();
    const afterAssign = p?.t === 'p' && p.v === '=';
    if (c === '"') {
      let j = i + 1;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      out.push({ t: 'text', bytes: textBytes(s.slice(i + 1, j)) });
      i = j + 1;
      continue;
    }
    if (c === '/' && (afterAssign || (p?.t === 'id' && p.v === 'matches'))) {
      let j = i + 1;
      while (j < s.length && s[j] !== '/') j += s[j] === '\\' ? 2 : 1;
      const mods = /^[is]*/.exec(s.slice(j + 1))![0];
      out.push({ t: 'regex', src: s.slice(i + 1, j), mods });
      i = j + 1 + mods.length;
      continue;
    }
    if (c === '{' && afterAssign) {
      const j = s.indexOf('}', i);
      out.push({ t: 'hex', body: s.slice(i + 1, j < 0 ? s.length : j) });
      i = j < 0 ? s.length : j + 1;
      continue;
    }
    if (c === '$' || c === '#' || c === '@' || c === '!') {
      ID.lastIndex = i + 1;
      const m = ID.exec(s);
      if (c === '!' && !m) {
        const two = s.slice(i, i + 2);
        out.push({ t: 'p', v: two === '!=' ? two : c });
        i += two === '!=' ? 2 : 1;
        continue;
      }
      let name = m ? m[0] : '';
      let j = i + 1 + name.length;
      if (c === '$' && s[j] === '*') {
        name += '*';
        j++;
      }
      out.push(c === '$' ? { t: 'var', v: name } : c === '#' ? { t: 'count', v: name } : { t: 'p', v: c + name });
      i = j;
      continue;
    }
    ID.lastIndex = i;
    const id = ID.exec(s);
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    NUM.lastIndex = i;
    const num = NUM.exec(s);
    if (num) {
      const [, digits, unit] = num;
      let v = digits!.startsWith('0o') ? parseInt(digits!.slice(2), 8) : Number(digits);
      if (unit === 'KB') v *= 1024;
      if (unit === 'MB') v *= 1024 * 1024;
      out.push({ t: 'num', v });
      i += num[0].length;
      continue;
    }
    const op = OPS.find((o) => s.startsWith(o, i));
    out.push({ t: 'p', v: op ?? c });
    i += op ? op.length : 1;
  }
  return out;
}

const isP = (t: Tok | undefined, v: string) => t?.t === 'p' && t.v === v;
const isId = (t: Tok | undefined, v: string) => t?.t === 'id' && t.v === v;

/** A string's form: literal runs all required; `nocase`: any case of ASCII letters. */
interface Runs {
  runs: Uint8Array[];
  nocase: boolean;
}

/** Literal runs of a hex pattern's body: bytes outside wildcards, jumps, negations and alternatives. */
function hexRuns(body: string): Uint8Array[] {
  const clean = body.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, ' ');
  const runs: Uint8Array[] = [];
  let run: number[] = [];
  const cut = () => {
    if (run.length > 0) runs.push(Uint8Array.from(run));
    run = [];
  };
  let i = 0;
  while (i < clean.length) {
    const c = clean[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '[') {
      cut();
      i = clean.indexOf(']', i) + 1 || clean.length;
    } else if (c === '(') {
      cut();
      // Alternatives: none is required alone. Skip to the matching parenthesis.
      let depth = 0;
      for (; i < clean.length; i++) {
        if (clean[i] === '(') depth++;
        else if (clean[i] === ')' && --depth === 0) break;
      }
      i++;
    } else if (c === '~') {
      cut();
      i += 3;
    } else if (/^[0-9a-fA-F]{2}$/.test(clean.slice(i, i + 2))) {
      run.push(parseInt(clean.slice(i, i + 2), 16));
      i += 2;
    } else {
      cut(); // ?? or a nibble wildcard
      i += 2;
    }
  }
  cut();
  return runs;
}

/**
 * Literal runs every match of a regex holds; null when its top level has alternatives (no run
 * is then required). Classes, groups, anchors and escapes of classes cut runs; a character made
 * optional by `?`, `*` or `{0,...}` is dropped from its run.
 */
function regexRuns(src: string): Uint8Array[] | null {
  const runs: Uint8Array[] = [];
  let run: number[] = [];
  let lastLen = 0; // bytes the last atom added to `run` (to drop it when optional)
  const cut = () => {
    if (run.length > 0) runs.push(Uint8Array.from(run));
    run = [];
    lastLen = 0;
  };
  const literal = (bytes: number[]) => {
    run.push(...bytes);
    lastLen = bytes.length;
  };
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '|') return null;
    if (c === '\\') {
      const e = src[i + 1] ?? '';
      if (e === 'x' && /^[0-9a-fA-F]{2}$/.test(src.slice(i + 2, i + 4))) {
        literal([parseInt(src.slice(i + 2, i + 4), 16)]);
        i += 4;
      } else if (e === 'n' || e === 't' || e === 'r') {
        literal([e === 'n' ? 10 : e === 't' ? 9 : 13]);
        i += 2;
      } else if (/[^A-Za-z0-9]/.test(e) && e !== '') {
        literal([...Buffer.from(e, 'utf8')]);
        i += 2;
      } else {
        cut(); // \w \d \s \b, back-references, anything else
        i += 2;
      }
      continue;
    }
    if (c === '[') {
      cut();
      let j = i + 1;
      if (src[j] === '^') j++;
      if (src[j] === ']') j++;
      while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
      i = j + 1;
      continue;
    }
    if (c === '(') {
      cut();
      let depth = 0;
      let j = i;
      for (; j < src.length; j++) {
        if (src[j] === '\\') j++;
        else if (src[j] === '[') {
          j++;
          while (j < src.length && src[j] !== ']') j += src[j] === '\\' ? 2 : 1;
        } else if (src[j] === '(') depth++;
        else if (src[j] === ')' && --depth === 0) break;
      }
      i = j + 1;
      continue;
    }
    if (c === '*' || c === '?' || c === '+' || c === '{') {
      let optional = c === '*' || c === '?';
      let j = i + 1;
      if (c === '{') {
        const q = /^\{(\d*)(,?)(\d*)\}/.exec(src.slice(i));
        if (!q || (q[1] === '' && q[3] === '')) {
          cut();
          i++;
          continue;
        }
        optional = q[1] === '' || Number(q[1]) === 0;
        j = i + q[0].length;
      }
      if (src[j] === '?' || src[j] === '+') j++; // lazy or possessive
      if (optional) run.splice(run.length - lastLen, lastLen);
      cut();
      i = j;
      continue;
    }
    if (c === '.' || c === '^' || c === '$' || c === ')') {
      cut();
      i++;
      continue;
    }
    const cp = src.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    literal([...Buffer.from(ch, 'utf8')]);
    i += ch.length;
  }
  cut();
  return runs;
}

/** `bytes` as UTF-16LE of Latin-1 text, as the `wide` modifier makes it. */
function wide(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length * 2);
  bytes.forEach((b, i) => (out[i * 2] = b));
  return out;
}

/** What a string definition requires of a file. */
function stringQuery(value: Tok, mods: Set<string>): GramQuery | null {
  if (mods.has('xor') || mods.has('base64') || mods.has('base64wide')) return null;
  let form: Runs | null = null;
  if (value.t === 'text') form = value.bytes ? { runs: [value.bytes], nocase: mods.has('nocase') } : null;
  else if (value.t === 'hex') form = { runs: hexRuns(value.body), nocase: false };
  else if (value.t === 'regex') {
    const runs = regexRuns(value.src);
    form = runs ? { runs, nocase: mods.has('nocase') || value.mods.includes('i') } : null;
  }
  if (!form) return null;
  const encodings = value.t === 'hex' ? ['ascii'] : [...(mods.has('wide') ? ['wide'] : []), ...(mods.has('ascii') || !mods.has('wide') ? ['ascii'] : [])];
  const f = form;
  return anyOf(encodings.map((e) => allOf(f.runs.map((r) => literalQuery(e === 'wide' ? wide(r) : r, f.nocase)))));
}

/**
 * What one pattern requires of a file, written as in a rule's strings section (`"text"`,
 * `{hex}`, `/regex/i`, modifiers after it): the same reading a rule holding it gets, so a search
 * built from patterns (content-query.ts) and its rule never disagree. Null: no requirement.
 */
export function patternQuery(pattern: string): GramQuery | null {
  let toks: Tok[];
  try {
    toks = tokenize(`$a = ${pattern}`);
  } catch {
    return null;
  }
  const value = toks[2];
  if (!value) return null;
  const mods = new Set(toks.slice(3).flatMap((t) => (t.t === 'id' ? [t.v] : [])));
  return stringQuery(value, mods);
}

/** Where each `(` at or after `from` closes (index of its `)`), for the tokens of one condition. */
function closing(toks: Tok[], open: number, end: number): number {
  let depth = 0;
  for (let i = open; i < end; i++) {
    if (isP(toks[i], '(')) depth++;
    else if (isP(toks[i], ')') && --depth === 0) return i;
  }
  return end;
}

/** Token positions of `word` at parenthesis depth 0 within [start, end). */
function splitAt(toks: Tok[], start: number, end: number, word: string): number[] {
  const at: number[] = [];
  let depth = 0;
  for (let i = start; i < end; i++) {
    const t = toks[i];
    if (isP(t, '(') || isP(t, '[')) depth++;
    else if (isP(t, ')') || isP(t, ']')) depth--;
    else if (depth === 0 && isId(t, word)) at.push(i);
  }
  return at;
}

/** What the anonymous `$` of a `for ... of` body stands for while the body is read (never a real trigram). */
const ANON: GramQuery = { gram: -1 };

interface RuleScope {
  strings: Map<string, GramQuery | null>;
  rules: Map<string, GramQuery | null>;
  /** Inside a `for ... of` body: what `$` stands for. */
  anon?: GramQuery;
}

/** The strings of a set (`them`, `($a, $b*)`), or null when it names rules or is malformed. */
function stringSet(toks: Tok[], start: number, end: number, scope: RuleScope): (GramQuery | null)[] | null {
  if (end - start === 1 && isId(toks[start], 'them')) return [...scope.strings.values()];
  if (!isP(toks[start], '(') || closing(toks, start, end) !== end - 1) return null;
  const out: (GramQuery | null)[] = [];
  for (let i = start + 1; i < end - 1; i++) {
    const t = toks[i]!;
    if (isP(t, ',')) continue;
    if (t.t !== 'var') return null;
    if (t.v.endsWith('*')) {
      const prefix = t.v.slice(0, -1);
      for (const [name, q] of scope.strings) if (name.startsWith(prefix)) out.push(q);
    } else if (scope.strings.has(t.v)) out.push(scope.strings.get(t.v)!);
    else return null;
  }
  return out;
}

/** The numeric value of a quantifier token (`any` 1, `all` Infinity, `none` 0); null when not one. */
function quantifier(toks: Tok[], i: number): { n: number; next: number } | null {
  const t = toks[i];
  if (isId(t, 'any')) return { n: 1, next: i + 1 };
  if (isId(t, 'all')) return { n: Infinity, next: i + 1 };
  if (isId(t, 'none')) return { n: 0, next: i + 1 };
  if (t?.t === 'num') return isP(toks[i + 1], '%') ? { n: t.v > 0 ? 1 : 0, next: i + 2 } : { n: t.v, next: i + 1 };
  return null;
}

/** `n` of the set's strings required. */
function ofSet(n: number, set: (GramQuery | null)[]): GramQuery | null {
  if (n <= 0 || set.length === 0) return null;
  return n === Infinity ? allOf(set) : anyOf(set);
}

/** What the condition tokens [start, end) require; null: nothing known. */
function requirement(toks: Tok[], start: number, end: number, scope: RuleScope): GramQuery | null {
  if (start >= end) return null;
  if (isP(toks[start], '(') && closing(toks, start, end) === end - 1) return requirement(toks, start + 1, end - 1, scope);
  for (const word of ['or', 'and'] as const) {
    const at = splitAt(toks, start, end, word);
    if (at.length === 0) continue;
    const bounds = [start - 1, ...at, end];
    const parts = bounds.slice(1).map((b, k) => requirement(toks, bounds[k]! + 1, b, scope));
    return word === 'or' ? anyOf(parts) : allOf(parts);
  }
  const t = toks[start]!;
  const next = toks[start + 1];
  // $a, $a at ..., $a in (...)
  if (t.t === 'var' && (end - start === 1 || isId(next, 'at') || isId(next, 'in'))) {
    if (t.v === '') return scope.anon ?? null;
    return scope.strings.get(t.v) ?? null;
  }
  // #a > n, #a >= n, #a == n (n >= 1)
  if (t.t === 'count' && end - start === 3 && next?.t === 'p' && toks[start + 2]?.t === 'num') {
    const n = (toks[start + 2] as { v: number }).v;
    const atLeastOne = (next.v === '>' && n >= 0) || ((next.v === '>=' || next.v === '==') && n >= 1);
    if (!atLeastOne) return null;
    return t.v === '' ? (scope.anon ?? null) : (scope.strings.get(t.v) ?? null);
  }
  // <quantifier> of <set> [in (...) | at ...]
  const q = quantifier(toks, start);
  if (q && isId(toks[q.next], 'of')) {
    let setEnd = q.next + 2;
    if (isP(toks[q.next + 1], '(')) setEnd = closing(toks, q.next + 1, end) + 1;
    if (setEnd < end && !isId(toks[setEnd], 'in') && !isId(toks[setEnd], 'at')) return null;
    const set = stringSet(toks, q.next + 1, setEnd, scope);
    return set ? ofSet(q.n, set) : null;
  }
  // for <quantifier> of <set> : ( body ), the body requiring `$`
  if (isId(t, 'for')) {
    const fq = quantifier(toks, start + 1);
    if (!fq || !isId(toks[fq.next], 'of')) return null;
    let setEnd = fq.next + 2;
    if (isP(toks[fq.next + 1], '(')) setEnd = closing(toks, fq.next + 1, end) + 1;
    if (!isP(toks[setEnd], ':') || !isP(toks[setEnd + 1], '(') || closing(toks, setEnd + 1, end) !== end - 1) return null;
    const set = stringSet(toks, fq.next + 1, setEnd, scope);
    const body = requirement(toks, setEnd + 2, end - 1, { ...scope, anon: ANON });
    const needsAnon = body === ANON || (body !== null && 'and' in body && body.and.includes(ANON));
    return set && needsAnon ? ofSet(fq.n, set) : null;
  }
  // Another rule of the source, by name.
  if (t.t === 'id' && end - start === 1 && scope.rules.has(t.v)) return scope.rules.get(t.v) ?? null;
  return null;
}

/** One rule as the planner reads it. */
interface ParsedRule {
  name: string;
  private: boolean;
  query: GramQuery | null;
}

/** Parses the rule at `i` (its `rule` keyword); returns it and where it ends. */
function parseRule(toks: Tok[], i: number, isPrivate: boolean, rules: Map<string, GramQuery | null>): { rule: ParsedRule; next: number } {
  const name = (toks[i + 1] as { v: string }).v;
  let j = i + 2;
  while (j < toks.length && !isP(toks[j], '{')) j++;
  j++;
  const strings = new Map<string, GramQuery | null>();
  let condStart = -1;
  let condEnd = -1;
  while (j < toks.length && !isP(toks[j], '}')) {
    const t = toks[j]!;
    if (t.t === 'id' && isP(toks[j + 1], ':') && (t.v === 'meta' || t.v === 'strings' || t.v === 'condition')) {
      j += 2;
      if (t.v === 'condition') {
        condStart = j;
        while (j < toks.length && !isP(toks[j], '}')) j++;
        condEnd = j;
      }
      continue;
    }
    if (t.t === 'var' && isP(toks[j + 1], '=')) {
      const value = toks[j + 2]!;
      j += 3;
      const mods = new Set<string>();
      while (toks[j]?.t === 'id' && !(isP(toks[j + 1], ':') && ['meta', 'strings', 'condition'].includes((toks[j] as { v: string }).v))) {
        mods.add((toks[j] as { v: string }).v);
        j++;
        if (isP(toks[j], '(')) j = closing(toks, j, toks.length) + 1;
      }
      strings.set(t.v, stringQuery(value, mods));
      continue;
    }
    j++;
  }
  const query = condStart < 0 ? null : requirement(toks, condStart, condEnd, { strings, rules });
  return { rule: { name, private: isPrivate, query }, next: j + 1 };
}

/**
 * What a file must contain for any rule of `source` to match it; null when some rule can match
 * without a literal the index can see (every file must then be scanned).
 */
export function rulesQuery(source: string): GramQuery | null {
  let toks: Tok[];
  try {
    toks = tokenize(source);
  } catch {
    return null;
  }
  const rules = new Map<string, GramQuery | null>();
  const matching: (GramQuery | null)[] = [];
  let isPrivate = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (isId(t, 'private')) isPrivate = true;
    else if (isId(t, 'global')) continue;
    else if (isId(t, 'rule') && toks[i + 1]?.t === 'id') {
      const { rule, next } = parseRule(toks, i, isPrivate, rules);
      rules.set(rule.name, rule.query);
      if (!rule.private) matching.push(rule.query);
      isPrivate = false;
      i = next - 1;
    } else if (isId(t, 'import') || isId(t, 'include')) i++;
  }
  return anyOf(matching);
}
