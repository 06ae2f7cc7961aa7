// The YARA editor: CodeMirror 6 with a small YARA tokenizer for highlighting, and the server's
// validation endpoint as its linter, so the engine's errors and slow-pattern refusals show at their
// line and column while the rules are typed (the same checks as saving).
import { EditorState } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { HighlightStyle, StreamLanguage, bracketMatching, syntaxHighlighting, type StringStream } from '@codemirror/language';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { tags as t } from '@lezer/highlight';
import { api } from './api.js';

const KEYWORDS = new Set(
  ('all and any ascii at base64 base64wide condition contains defined endswith entrypoint false filesize for fullword global ' +
    'icontains iendswith iequals import in include istartswith matches meta nocase none not of or private rule startswith ' +
    'strings them true wide xor with').split(' '),
);

interface YaraState {
  inComment: boolean;
  inHex: boolean;
}

/** Tokens enough to highlight: comments, strings, hex strings, regexes, pattern ids, numbers, keywords. */
const yara = StreamLanguage.define<YaraState>({
  name: 'yara',
  startState: () => ({ inComment: false, inHex: false }),
  token(stream: StringStream, state: YaraState): string | null {
    if (state.inComment) {
      if (stream.skipTo('*/')) {
        stream.pos += 2;
        state.inComment = false;
      } else stream.skipToEnd();
      return 'comment';
    }
    if (state.inHex) {
      if (stream.skipTo('}')) {
        stream.next();
        state.inHex = false;
      } else stream.skipToEnd();
      return 'number';
    }
    if (stream.eatSpace()) return null;
    if (stream.match('//')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match('/*')) {
      state.inComment = true;
      return 'comment';
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return 'string';
    if (stream.match(/^\/(?:[^/\\\n]|\\.)+\/[is]*/)) return 'regexp';
    if (stream.match(/^[$#@!][A-Za-z0-9_]*\*?/)) return 'variableName';
    if (stream.match(/^0x[0-9a-fA-F]+|^\d+(?:KB|MB)?/)) return 'number';
    if (stream.match(/^[A-Za-z_][A-Za-z0-9_.]*/)) {
      const w = stream.current();
      return KEYWORDS.has(w) ? 'keyword' : /^(uint|int)(8|16|32)(be)?$/.test(w) ? 'builtin' : 'name';
    }
    // `= {` opens a hex string; a rule's own `{` is punctuation.
    if (stream.peek() === '{' && /=\s*$/.test(stream.string.slice(0, stream.pos))) {
      state.inHex = true;
      return 'number';
    }
    stream.next();
    return 'punctuation';
  },
  languageData: { commentTokens: { line: '//', block: { open: '/*', close: '*/' } } },
});

const highlight = HighlightStyle.define([
  { tag: t.keyword, class: 'tok-keyword' },
  { tag: t.comment, class: 'tok-comment' },
  { tag: t.string, class: 'tok-string' },
  { tag: t.regexp, class: 'tok-regexp' },
  { tag: t.number, class: 'tok-number' },
  { tag: t.variableName, class: 'tok-var' },
  { tag: t.standard(t.variableName), class: 'tok-builtin' },
]);

export interface ValidationResult {
  valid: boolean;
  rule_names: string[];
  diagnostics: { code: string; severity: 'error' | 'warning'; message: string; line: number; column: number }[];
}

/** Asks the server what is wrong with `rules`, each problem placed in `doc`. */
async function lint(view: EditorView, onResult: (r: ValidationResult) => void): Promise<Diagnostic[]> {
  const doc = view.state.doc;
  const r = (await api.post('/api/v3/intelligence/hunting_rulesets/validate', { data: { type: 'hunting_ruleset', attributes: { rules: doc.toString() } } })).data as ValidationResult;
  onResult(r);
  return r.diagnostics.map((d) => {
    const line = doc.line(Math.min(Math.max(1, d.line), doc.lines));
    const from = Math.min(line.from + Math.max(0, d.column - 1), line.to);
    // The whole rest of the word from the column: the engine points at a token's start.
    const word = /^[\w$#@!.]+/.exec(doc.sliceString(from, line.to))?.[0].length ?? 0;
    return { from, to: Math.max(from + word, Math.min(from + 1, line.to)), severity: d.severity, message: d.message, source: d.code };
  });
}

/** An editor of YARA rules; with `onResult`, checked by the server as a hunting ruleset while typed. */
export function yaraEditor(parent: HTMLElement, source: string, onChange: (text: string) => void, onResult?: (r: ValidationResult) => void): EditorView {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: source,
      extensions: [
        lineNumbers(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        yara,
        syntaxHighlighting(highlight),
        onResult ? [lintGutter(), linter((v) => lint(v, onResult), { delay: 400 })] : [],
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        EditorView.updateListener.of((u) => u.docChanged && onChange(u.state.doc.toString())),
        EditorView.contentAttributes.of({ 'aria-label': 'YARA rules' }),
      ],
    }),
  });
}
