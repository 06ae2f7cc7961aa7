// Rule names of a YARA source, in order, and a check for `include` directives. The engine does not
// list rules that did not match, so names come from a small lexer (comments, strings, regexes skipped).

/** One `rule` declaration found in a source. */
export interface RuleDeclaration {
  name: string;
  /** 1-based line of the name. */
  line: number;
}

/** Top-level tokens of interest, with comments, string literals and regex literals removed. */
function scrub(source: string): string {
  let out = '';
  let i = 0;
  let lastSignificant = ''; // last non-space text emitted, to recognise where a regex can start
  const n = source.length;
  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === '/' && next === '/') {
      while (i < n && source[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? n : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, ' '); // keep line numbers
      i = stop;
      continue;
    }
    if (c === '"') {
      i++;
      while (i < n && source[i] !== '"' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      i++;
      out += '""';
      lastSignificant = '"';
      continue;
    }
    if (c === '/' && (/=\s*$/.test(lastSignificant) || /\bmatches\s*$/.test(lastSignificant))) {
      i++;
      while (i < n && source[i] !== '/' && source[i] !== '\n') i += source[i] === '\\' ? 2 : 1;
      i++;
      out += '//';
      lastSignificant = '/';
      continue;
    }
    out += c;
    lastSignificant = (lastSignificant + c).slice(-16);
    i++;
  }
  return out;
}

/** Rule declarations in source order (source assumed to compile; best effort otherwise). */
export function ruleDeclarations(source: string): RuleDeclaration[] {
  const text = scrub(source);
  const found: RuleDeclaration[] = [];
  const re = /(?<![\w$])rule\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?::[\sA-Za-z0-9_]*)?\{/g;
  let line = 1;
  let counted = 0;
  for (const m of text.matchAll(re)) {
    const at = m.index + m[0].indexOf(m[1]!);
    for (; counted < at; counted++) if (text.charCodeAt(counted) === 10) line++;
    found.push({ name: m[1]!, line });
  }
  return found;
}

/** 1-based line of the first `include` directive, outside comments and strings, if any. */
export function includeLine(source: string): number | undefined {
  const text = scrub(source);
  const m = /(?<![\w$])include\s*""/.exec(text);
  return m ? text.slice(0, m.index).split('\n').length : undefined;
}
