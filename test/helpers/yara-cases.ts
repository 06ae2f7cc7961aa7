// Generated cases for the differential tests of the hunting engine (test/engine-differential.test.ts,
// bench/engine-differential.ts): rulesets whose rules draw their patterns from one small pool, so
// that the same pattern (and overlapping ones: a word, its wide form, its xor form) turns up in
// several rules and rulesets, with conditions built from the things YARA-X derives pattern
// constraints from (`uint16(0) ==`, `filesize <`, `$a at 0`) and the ones that read every match
// (counts, offsets, lengths, `of` sets, `not`); and files built from the same words, in the forms
// the modifiers look for, behind the headers the conditions test, so that rules both hit and miss.
import fc from 'fast-check';

/** Words patterns are made of. Overlaps are deliberate: `testtest` holds `test` and `esttest`. */
const WORDS = ['RemoteShell', 'SETTINGS', 'HttpChannel', 'testtest', 'esttestt', 'Payload', 'beacon', 'xyzzy1'] as const;

/** A pattern definition, shared by value between rules: the same text means the same pattern. */
export interface PatternDef {
  text: string;
  word: string;
}

const hex = (s: string) => [...Buffer.from(s, 'latin1')].map((b) => b.toString(16).padStart(2, '0').toUpperCase());

const textModifiers = ['', ' ascii', ' wide', ' ascii wide', ' nocase', ' wide nocase', ' fullword', ' ascii wide fullword', ' xor', ' xor ascii wide', ' xor(1-3)', ' private', ' base64'];

function textPattern(word: string, mod: number): string {
  return `"${word}"${textModifiers[mod % textModifiers.length]}`;
}

function hexPattern(word: string, form: number): string {
  const b = hex(word);
  const mid = Math.floor(b.length / 2);
  switch (form % 4) {
    case 0:
      return `{ ${b.join(' ')} }`;
    case 1: // one wildcard byte in the middle
      return `{ ${[...b.slice(0, mid), '??', ...b.slice(mid + 1)].join(' ')} }`;
    case 2: // a short jump between the halves
      return `{ ${b.slice(0, mid).join(' ')} [0-2] ${b.slice(mid).join(' ')} }`;
    default: // an alternative for the last byte: itself or a byte that never appears
      return `{ ${b.slice(0, -1).join(' ')} ( ${b[b.length - 1]} | 7E ) }`;
  }
}

function regexPattern(word: string, form: number): string {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const head = esc(word.slice(0, 3));
  const tail = esc(word.slice(3));
  switch (form % 5) {
    case 0:
      return `/${esc(word)}/`;
    case 1:
      return `/${head}[A-Za-z0-9]?${tail}/`;
    case 2:
      return `/${esc(word)}/ nocase`;
    case 3:
      return `/${head}(${tail})+/`;
    default:
      return `/${esc(word)}/ wide ascii`;
  }
}

/** A pool of pattern definitions the rules of one case draw from. */
const patternArb: fc.Arbitrary<PatternDef> = fc
  .tuple(fc.constantFrom(...WORDS), fc.integer({ min: 0, max: 2 }), fc.nat(64))
  .map(([word, kind, form]) => ({ word, text: kind === 0 ? textPattern(word, form) : kind === 1 ? hexPattern(word, form) : regexPattern(word, form) }));

/** A condition over patterns $p0..$p(n-1), as a generator of text given n. */
type CondGen = (n: number) => fc.Arbitrary<string>;

const constraintLeaf = fc.constantFrom(
  'uint16(0) == 0x5a4d',
  'uint16(0) == 0x457f',
  'uint32(0) == 0x464c457f',
  'uint8(0) == 0x4d',
  'uint16be(0) == 0x504b',
  'filesize < 64',
  'filesize < 300',
  'filesize > 40',
  'filesize > 200',
);

const patternLeaf = (n: number) =>
  fc.tuple(fc.nat(n - 1), fc.nat(7), fc.nat(3)).map(([p, kind, k]) => {
    switch (kind) {
      case 0:
      case 1:
        return `$p${p}`;
      case 2:
        return `not $p${p}`;
      case 3: // 260: above the 256 matches Trawl once kept per pattern
        return `#p${p} ${['==', '>=', '<', '>'][k]} ${[1, 2, 1, 260][k]}`;
      case 4:
        return `$p${p} at ${[0, 2, 4, 6][k]}`;
      case 5:
        return `$p${p} in (${[0, 2, 10, 0][k]}..${[8, 40, 200, 1000][k]})`;
      case 6:
        return `@p${p}[1] ${['<', '>', '==', '<'][k]} ${[16, 8, 2, 64][k]}`;
      default:
        return `!p${p}[1] ${['==', '>', '<', '>='][k]} ${[8, 8, 12, 11][k]}`;
    }
  });

const setLeaf = fc.constantFrom('any of them', 'all of them', '2 of them', 'none of them', 'any of ($p0, $p1*)', 'any of them in (0..32)');

const leaf: CondGen = (n) => fc.oneof({ weight: 3, arbitrary: patternLeaf(n) }, { weight: 2, arbitrary: constraintLeaf }, { weight: 1, arbitrary: setLeaf.map((s) => (n < 2 ? s.replace(', $p1*', '') : s)) });

const condition = (n: number, depth: number): fc.Arbitrary<string> =>
  depth === 0
    ? leaf(n)
    : fc.oneof(
        { weight: 2, arbitrary: leaf(n) },
        { weight: 2, arbitrary: fc.tuple(condition(n, depth - 1), condition(n, depth - 1)).map(([a, b]) => `${a} and ${b}`) },
        { weight: 1, arbitrary: fc.tuple(condition(n, depth - 1), condition(n, depth - 1)).map(([a, b]) => `(${a} or ${b})`) },
      );

/** A rule's condition with a constraint in front half of the time, as public rules write them. */
const ruleCondition = (n: number) =>
  fc.tuple(fc.option(constraintLeaf, { freq: 2 }), fc.option(constraintLeaf, { freq: 4 }), condition(n, 2)).map(([c1, c2, body]) => [c1, c2, body].filter((x) => x !== null).join(' and '));

/** Every $pN used somewhere, so neither engine refuses the rule for an unused pattern. */
function useAll(cond: string, n: number): string {
  if (/\bthem\b/.test(cond)) return cond;
  const unused = Array.from({ length: n }, (_, i) => i).filter((i) => !new RegExp(`[$#@!]p${i}\\b`).test(cond) && !(i === 1 && cond.includes('$p1*')));
  return unused.length === 0 ? cond : `(${cond}) or (${unused.map((i) => `#p${i} > 100`).join(' and ')})`;
}

export interface GeneratedRule {
  name: string;
  text: string;
}

/** One rule drawing 1-3 patterns from `pool`; `previous` names rules it may reference. */
function ruleArb(pool: PatternDef[], name: string, previous: string[]): fc.Arbitrary<GeneratedRule> {
  return fc
    .tuple(
      fc.uniqueArray(fc.nat(pool.length - 1), { minLength: 1, maxLength: 3 }),
      fc.constantFrom('', '', '', '', 'private ', 'global '),
      fc.option(fc.constantFrom(...(previous.length ? previous : ['true'])), { freq: 4 }),
    )
    .chain(([picks, kind, ref]) =>
      ruleCondition(picks.length).map((cond) => {
        const strings = picks.map((p, i) => `    $p${i} = ${pool[p]!.text}`).join('\n');
        const full = useAll(ref && ref !== 'true' ? `${ref} and ${cond}` : cond, picks.length);
        return { name, text: `${kind}rule ${name} {\n  strings:\n${strings}\n  condition:\n    ${full}\n}` };
      }),
    );
}

/** A ruleset of 1-3 rules; later rules may reference earlier ones. */
function rulesetArb(pool: PatternDef[], index: number): fc.Arbitrary<string> {
  const names = ['alpha', 'beta', 'gamma'];
  return fc.integer({ min: 1, max: 3 }).chain((count) => {
    let arb: fc.Arbitrary<GeneratedRule[]> = fc.constant([]);
    for (let i = 0; i < count; i++) {
      arb = arb.chain((rules) => ruleArb(pool, `${names[i]}_${index}`, rules.filter((r) => !r.text.startsWith('global')).map((r) => r.name)).map((r) => [...rules, r]));
    }
    return arb.map((rules) => rules.map((r) => r.text).join('\n\n') + '\n');
  });
}

/** The forms a word takes in a file: each is what some modifier above looks for. */
function wordBytes(word: string, form: number): Buffer {
  const ascii = Buffer.from(word, 'latin1');
  switch (form % 7) {
    case 0:
    case 1:
      return ascii;
    case 2:
      return Buffer.from(word, 'utf16le');
    case 3:
      return Buffer.from(word.toUpperCase(), 'latin1');
    case 4:
      return Buffer.from(ascii.map((b) => b ^ (1 + (form % 3))));
    case 5:
      return Buffer.from(Buffer.from(`..${word}`).toString('base64'), 'latin1');
    default: // inside a longer word: fullword must not match
      return Buffer.from(`x${word}9`, 'latin1');
  }
}

const HEADERS = [Buffer.from('MZ'), Buffer.from('\x7fELF', 'latin1'), Buffer.from('PK\x03\x04', 'latin1'), Buffer.from('ab'), Buffer.alloc(0)];

/** A file: a header, then words in their forms between short fillers (now and then 300 times over), sometimes padded. */
const fileArb: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.nat(HEADERS.length - 1),
    fc.array(fc.tuple(fc.constantFrom(...WORDS), fc.nat(20), fc.constantFrom('', ' ', '\0', '\n', 'zz', '\0\0\0\0'), fc.constantFrom(1, 1, 1, 1, 1, 1, 300)), { maxLength: 6 }),
    fc.constantFrom(0, 0, 0, 50, 250, 400),
  )
  .map(([h, parts, pad]) => {
    const chunks: Buffer[] = [HEADERS[h]!];
    for (const [word, form, filler, times] of parts) {
      for (let i = 0; i < times; i++) chunks.push(wordBytes(word, form), Buffer.from(filler, 'latin1'));
    }
    const body = Buffer.concat(chunks);
    return pad > body.length ? Buffer.concat([body, Buffer.alloc(pad - body.length, 0x2e)]) : body;
  });

/** One differential case: rulesets over a shared pattern pool, and files made to hit and miss them. */
export interface EngineCase {
  rulesets: string[];
  files: Buffer[];
}

export function engineCaseArb(opts: { maxRulesets?: number; maxFiles?: number } = {}): fc.Arbitrary<EngineCase> {
  return fc.array(patternArb, { minLength: 2, maxLength: 6 }).chain((pool) =>
    fc.record({
      rulesets: fc.integer({ min: 1, max: opts.maxRulesets ?? 4 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rulesetArb(pool, i)))),
      files: fc.array(fileArb, { minLength: 1, maxLength: opts.maxFiles ?? 6 }),
    }),
  );
}

/** How many (rule, file) pairs a case decides. */
export function caseSize(c: EngineCase): number {
  const rules = c.rulesets.reduce((n, r) => n + (r.match(/^(?:global )?rule /gm)?.length ?? 0), 0);
  return rules * c.files.length;
}
