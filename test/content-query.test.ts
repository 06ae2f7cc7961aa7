// Content search queries on their own: what each kind of term becomes (a YARA pattern, a rule),
// that no term escapes its pattern, and soundness: a file the query's rule matches (YARA-X
// deciding) is never ruled out by the query's trigrams, on generated queries and files.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { contentGrams, parseContentQuery } from '../src/content-index/content-query.js';
import { evaluate, type GramQuery } from '../src/content-index/gram-query.js';
import { rulesQuery } from '../src/content-index/rule-grams.js';
import { TrawlError } from '../src/model/errors.js';
import { loadYaraX } from '../src/hunting/engine/yara-x.js';

function holds(q: GramQuery, file: Uint8Array): boolean {
  const grams = new Set<number>();
  for (let i = 0; i + 2 < file.length; i++) grams.add((file[i]! << 16) | (file[i + 1]! << 8) | file[i + 2]!);
  return evaluate(q, (g) => (grams.has(g) ? Uint32Array.of(0) : new Uint32Array(0))).length > 0;
}

const matches = (rule: string, data: string | Buffer) => loadYaraX().compile(rule).scan(Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1')).length > 0;

describe('content queries', () => {
  it('turn each kind of term into its YARA pattern, one string per term, all required', () => {
    const q = parseContentQuery('content:"a \\"b\\" \\\\ \\x00\\n" content:{CA fe  ?? [1-2] (01|02 03)} AND content:/ab.c/i content:wörd');
    assert.deepEqual(q.terms.map((t) => [t.kind, t.source, t.pattern]), [
      ['text', 'content:"a \\"b\\" \\\\ \\x00\\n"', '"a \\x22b\\x22 \\x5c \\x00\\x0a"'],
      ['hex', 'content:{CA fe  ?? [1-2] (01|02 03)}', '{ CA fe ?? [1-2] (01|02 03) }'],
      ['regex', 'content:/ab.c/i', '/ab.c/i'],
      ['text', 'content:wörd', '"w\\xc3\\xb6rd"'],
    ]);
    assert.match(q.rule, /\$t0 = "a \\x22b/);
    assert.match(q.rule, /condition:\s+all of them/);
    assert.ok(matches(q.rule, 'a "b" \\ \0\n and \xca\xfe?\x01x\x02\x03 and AB-C and w\xc3\xb6rd'));
    assert.ok(!matches(q.rule, 'a "b" \\ \0\n and \xca\xfe?\x01x\x02\x03 and AB-C and word'));
  });

  it('plans exactly what rule-grams plans for the rule it verifies with', () => {
    for (const query of ['content:{cafebabe}', 'content:"hello world" content:{4D 5A}', 'content:/virustotal(.org|.com)/ content:foo123', 'content:/x+yz{2}abc/i content:"wide"']) {
      const q = parseContentQuery(query);
      assert.deepEqual(contentGrams(q), rulesQuery(q.rule), query);
    }
  });

  it('keeps every term inside its pattern, whatever it holds', () => {
    const tricky = ['content:"x\\" condition: true } rule y { condition: true"', 'content:abc"}rule', 'content:/abc\\/ condition: true }/'];
    for (const query of tricky) {
      const q = parseContentQuery(query);
      assert.equal(loadYaraX().compile(q.rule).scan(Buffer.from('nothing here')).length, 0, query);
    }
    assert.ok(matches(parseContentQuery(tricky[2]!).rule, 'abc/ condition: true }'));
    assert.ok(matches(parseContentQuery(tricky[1]!).rule, 'abc"}rule'));
  });

  it('refuses what it cannot read with the right error', () => {
    const code = (query: string) => {
      try {
        contentGrams(parseContentQuery(query));
        return 'ok';
      } catch (e) {
        return (e as TrawlError).code;
      }
    };
    assert.equal(code('content:{ca fe}'), 'UnselectiveContentQueryError');
    assert.equal(code('content:/ab.cd/'), 'UnselectiveContentQueryError');
    assert.equal(code('content:{ca fe} content:{ca fe ba}'), 'ok');
    assert.equal(code('content:{ca fg}'), 'UnsupportedContentQueryError');
    assert.equal(code(`${'content:abcd '.repeat(17)}`), 'UnsupportedContentQueryError');
    assert.equal(code('content:/abc/g'), 'UnsupportedContentQueryError');
    assert.equal(code('content:"abc"def'), 'UnsupportedContentQueryError');
    assert.equal(code('CONTENT:abcd'), 'ok');
    assert.equal(code('abcd'), 'BadRequestError');
    assert.equal(code('   '), 'BadRequestError');
  });

  it('never rule out a file the query matches (generated queries and files, YARA-X deciding)', () => {
    const yarax = loadYaraX();
    const ALPHABET = ['a', 'b', 'A', 'B', '\x00'];
    const hexOf = (c: string) => c.charCodeAt(0).toString(16).padStart(2, '0');
    // Each term with a witness: bytes it matches, which files are made of (with random bytes
    // around and between, some of them cut short) so that matches are frequent.
    type Term = [string, string];
    const chars = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 6 });
    const text = chars.map((cs): Term => [`content:"${cs.map((c) => (c === '\x00' ? '\\x00' : c)).join('')}"`, cs.join('')]);
    const word = fc.array(fc.constantFrom('a', 'b', 'A', 'B'), { minLength: 1, maxLength: 6 }).map((cs): Term => [`content:${cs.join('')}`, cs.join('')]);
    const hexTokens: Term[] = [...ALPHABET.map((c): Term => [hexOf(c), c]), ['??', 'B'], ['6?', 'a'], ['?1', 'A'], ['~61', 'b'], ['[1]', 'a'], ['[0-2]', ''], ['(61|62 41)', 'bA'], ['(42|??)', 'B']];
    const hex = fc.tuple(fc.constantFrom(...ALPHABET), fc.array(fc.constantFrom(...hexTokens), { maxLength: 6 }), fc.constantFrom(...ALPHABET))
      .map(([a, mid, b]): Term => [`content:{${[hexOf(a), ...mid.map((t) => t[0]), hexOf(b)].join(' ')}}`, a + mid.map((t) => t[1]).join('') + b]);
    const regexAtoms: Term[] = [['a', 'a'], ['b', 'b'], ['A', 'A'], ['B', 'B'], ['\\x00', '\x00'], ['.', 'a'], ['[ab]', 'b'], ['a?', ''], ['b+', 'bb'], ['(a|bA)', 'bA'], ['B{1,2}', 'B'], ['a*', 'aa']];
    const regex = fc.tuple(fc.array(fc.constantFrom(...regexAtoms), { minLength: 1, maxLength: 7 }), fc.boolean(), fc.boolean())
      .map(([atoms, alt, i]): Term => [`content:/${atoms.map((t) => t[0]).join('')}${alt ? '|ab' : ''}/${i ? 'i' : ''}`, atoms.map((t) => t[1]).join('')]);
    const terms = fc.array(fc.oneof(text, word, hex, regex), { minLength: 1, maxLength: 3 });
    const noise = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 8 }).map((cs) => cs.join(''));
    const cases = terms.chain((ts) => fc.tuple(
      fc.constant(ts),
      fc.array(fc.array(fc.tuple(noise, fc.nat(ts.length - 1), fc.nat(8)), { maxLength: 4 }), { minLength: 1, maxLength: 6 })
        .map((files) => files.map((parts) => Buffer.from(parts.map(([n, t, cut]) => n + ts[t]![1].slice(0, cut === 0 ? -1 : undefined)).join(''), 'latin1'))),
    ));
    let matched = 0;
    let planned = 0;
    fc.assert(fc.property(cases, ([ts, files]) => {
      const qs = ts.map((t) => t[0]).join(' ');
      const q = parseContentQuery(qs);
      let rules;
      try {
        rules = yarax.compile(q.rule, { relaxedReSyntax: true });
      } catch {
        return; // a combination the engine refuses (a search answers it UnsupportedContentQueryError)
      }
      let plan: GramQuery;
      try {
        plan = contentGrams(q);
      } catch (e) {
        assert.equal((e as TrawlError).code, 'UnselectiveContentQueryError');
        return;
      }
      planned++;
      for (const f of files) {
        if (rules.scan(f).length === 0) continue;
        matched++;
        assert.ok(holds(plan, f), `ruled out a match:\n${qs}\nfile: ${JSON.stringify(f.toString('latin1'))}`);
      }
    }), { numRuns: 500 });
    assert.ok(matched > 300 && planned > 200, `${matched} matches, ${planned} plans: the property was exercised`);
  });
});
