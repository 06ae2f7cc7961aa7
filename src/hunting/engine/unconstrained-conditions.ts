// The way around YARA-X 1.20.0's lost and false matches (VirusTotal/yara-x issues 762 and 771;
// docs/engine.md): every rule's condition C is compiled as `(C) or filesize < 0`, which means the
// same, but leaves the compiler nothing to derive pattern constraints from.
//
// Why: YARA-X reads two facts off a condition whose top level is a chain of `and`s: a header the
// file must start with (`uint16(0) == 0x5a4d`, `$a at 0`) and bounds on `filesize`. It stores them
// on the rule's patterns and skips those patterns on files that fail them. 1.20.0 shares a
// pattern between rules when the text and modifiers are equal, whatever the constraints, so the
// first rule's constraints silence the pattern for every later rule that declares it too: the
// later rule misses a match (`$p`) or gains a false one (`not $p`). A condition whose top level is
// `or` yields no constraint, so no pattern is ever skipped. Matching is unchanged; what is lost is
// an optimisation (patterns of rules whose header test fails are still verified). The added
// operand must be false, unknown to the compiler's constant folding, and cheap: `filesize < 0`
// reads a value the scan already holds (an external variable, tried first, cost a host call per
// rule and scan: 25% fewer small files per second with 10,000 rules). Should a later YARA-X fold
// it away, the constraints come back, and the differential test fails before that engine lands.
//
// The rewrite finds each rule's condition with a lexer that follows YARA-X's own tokenizer
// (strings, multi-line strings, regular expressions, comments, hex patterns), and inserts text only
// on lines that already hold the condition's first and last characters, so line numbers of any
// later diagnostic stay right.

/** What every condition is joined with: false for every file, and opaque to constant folding. */
export const NEVER_TRUE = 'filesize < 0';

/** Where one rule's condition lies in a source: text between `start` and `end` (exclusive). */
interface ConditionSpan {
  start: number;
  end: number;
}

/** What a lexer step found at a position: a token's kind and where it ends. */
type Token = { kind: 'word' | 'punct' | 'literal'; end: number; text: string };

const isWordStart = (c: string) => /[A-Za-z_]/.test(c);
const isWordChar = (c: string) => /[A-Za-z0-9_]/.test(c);
const isSpace = (c: string) => c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\u00a0' || /[\u2000-\u200a\u202f\u205f]/.test(c);

/** End of a comment starting at `i`, or -1 when there is none there. */
function commentEnd(s: string, i: number): number {
  if (s[i] !== '/') return -1;
  if (s[i + 1] === '/') {
    const nl = s.indexOf('\n', i);
    return nl < 0 ? s.length : nl;
  }
  if (s[i + 1] === '*') {
    const close = s.indexOf('*/', i + 2);
    return close < 0 ? -1 : close + 2;
  }
  return -1;
}

/** End of a `"..."` literal at `i` (escapes, no newline), or -1. */
function stringEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '"') return j + 1;
    else if (c === '\n') return -1;
  }
  return -1;
}

/** End of a `"""..."""` literal at `i` (escapes; no unescaped quote inside), or -1. */
function multiLineStringEnd(s: string, i: number): number {
  if (!s.startsWith('"""', i)) return -1;
  for (let j = i + 3; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '"') return s.startsWith('"""', j) ? j + 3 : -1;
  }
  return -1;
}

/** End of a regular expression `/.../mods` at `i` as YARA-X lexes it (no newline inside), or -1. */
function regexpEnd(s: string, i: number): number {
  let j = i + 1;
  const first = s[j];
  if (first === undefined || first === '*' || first === '/' || first === '\n') return -1;
  for (; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') {
      if (s[j + 1] === undefined || s[j + 1] === '\n') return -1;
      j++;
    } else if (c === '\n') return -1;
    else if (c === '/') {
      let k = j + 1;
      while (k < j + 3 && k < s.length && /[A-Za-z]/.test(s[k]!)) k++;
      return k;
    }
  }
  return -1;
}

/** End of a hex pattern whose `{` is at `i`: the first `}` outside comments, or -1. */
function hexPatternEnd(s: string, i: number): number {
  for (let j = i + 1; j < s.length; j++) {
    const end = commentEnd(s, j);
    if (end >= 0) {
      j = end - 1;
      continue;
    }
    if (s[j] === '}') return j + 1;
  }
  return -1;
}

/** The next significant token at or after `i` (comments and spaces skipped), or null at the end. */
function nextToken(s: string, i: number): (Token & { start: number }) | null {
  for (;;) {
    while (i < s.length && isSpace(s[i]!)) i++;
    if (i >= s.length) return null;
    const comment = commentEnd(s, i);
    if (comment < 0) break;
    i = comment;
  }
  const c = s[i]!;
  const literal = (end: number) => ({ kind: 'literal' as const, start: i, end, text: s.slice(i, end) });
  if (c === '"') {
    const end = Math.max(multiLineStringEnd(s, i), stringEnd(s, i));
    return end > 0 ? literal(end) : { kind: 'punct', start: i, end: i + 1, text: c };
  }
  if (c === '/') {
    const end = regexpEnd(s, i);
    return end > 0 ? literal(end) : { kind: 'punct', start: i, end: i + 1, text: c };
  }
  if (isWordStart(c) || /[$#@!0-9]/.test(c)) {
    let j = i + 1;
    while (j < s.length && isWordChar(s[j]!)) j++;
    return { kind: 'word', start: i, end: j, text: s.slice(i, j) };
  }
  return { kind: 'punct', start: i, end: i + 1, text: c };
}

/**
 * The condition of every rule in `source`, in order. A source that does not parse as rules (it
 * should have been validated already) gives the spans found before the point where it stops
 * making sense.
 */
export function conditionSpans(source: string): ConditionSpan[] {
  const spans: ConditionSpan[] = [];
  let t = nextToken(source, 0);
  while (t) {
    if (t.kind !== 'word' || t.text !== 'rule') {
      t = nextToken(source, t.end);
      continue;
    }
    // `rule name : tags {`
    let open = nextToken(source, t.end);
    while (open && open.text !== '{' && open.text !== '}') open = nextToken(source, open.end);
    if (!open || open.text !== '{') return spans;
    let previous = open;
    let start = -1;
    let end = -1;
    for (let body = nextToken(source, open.end); body; body = nextToken(source, body.end)) {
      if (body.text === '{') {
        // Only a hex pattern opens a brace inside a rule: `$a = { 4D 5A }`.
        if (previous.text !== '=') return spans;
        const close = hexPatternEnd(source, body.start);
        if (close < 0) return spans;
        body = { kind: 'literal', start: body.start, end: close, text: source.slice(body.start, close) };
      } else if (body.text === 'condition' && body.kind === 'word') {
        const colon = nextToken(source, body.end);
        if (colon?.text === ':') {
          start = colon.end;
          body = colon;
        }
      } else if (body.text === '}') {
        end = body.start;
        break;
      }
      previous = body;
    }
    if (end < 0) return spans;
    if (start >= 0) spans.push({ start, end });
    t = nextToken(source, end + 1);
  }
  return spans;
}

/**
 * `source` with every rule's condition C replaced by `(C) or NEVER_TRUE`: the same matches, and
 * no pattern constraints for YARA-X 1.20.0 to misapply (see the top of this file).
 */
export function unconstrainedConditions(source: string): string {
  const spans = conditionSpans(source);
  if (spans.length === 0) return source;
  let out = '';
  let at = 0;
  for (const { start, end } of spans) {
    // Trailing spaces and comments stay outside the parentheses; a line comment needs its newline.
    let last = end;
    while (last > start && isSpace(source[last - 1]!) && source[last - 1] !== '\n') last--;
    out += `${source.slice(at, start)}(${source.slice(start, last)}) or ${NEVER_TRUE}${source.slice(last, end)}`;
    at = end;
  }
  return out + source.slice(at);
}
