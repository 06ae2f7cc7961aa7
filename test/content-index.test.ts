// The content index's parts on their own: trigram sets, segments built and merged, and the rule
// planner, whose one duty is soundness: every file a rule matches (YARA-X decides) must be a
// candidate of the rule's plan. Generated rules and files (the engine differential's generator)
// check it, and a table of constructs checks that plans are there where literals bound a rule.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodeAscending, distinctGrams, encodeAscending } from '../src/content-index/grams.js';
import { evaluate, type GramQuery } from '../src/content-index/gram-query.js';
import { rulesQuery } from '../src/content-index/rule-grams.js';
import { buildSegment, mergeSegments, SegmentReader } from '../src/content-index/segment.js';
import { loadYaraX } from '../src/hunting/engine/yara-x.js';
import { engineCaseArb } from './helpers/yara-cases.js';

function naiveGrams(b: Uint8Array): number[] {
  const s = new Set<number>();
  for (let i = 0; i + 2 < b.length; i++) s.add((b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!);
  return [...s].sort((x, y) => x - y);
}

/** Whether `q` holds for a file, from the file's own bytes. */
function holds(q: GramQuery, file: Uint8Array): boolean {
  const grams = new Set(naiveGrams(file));
  return evaluate(q, (g) => (grams.has(g) ? Uint32Array.of(0) : new Uint32Array(0))).length > 0;
}

describe('content index: trigram sets', () => {
  it('are the distinct trigrams, ascending, small and large (read off the bitmap), and round-trip their encoding', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
      const got = distinctGrams(b);
      assert.deepEqual([...got], naiveGrams(b));
      assert.deepEqual([...decodeAscending(encodeAscending(got))], [...got]);
    }), { numRuns: 300 });
    const big = randomBytes(1 << 20);
    const grams = distinctGrams(big);
    assert.ok(grams.length > 1 << 17, `${grams.length} trigrams: the bitmap path`);
    assert.deepEqual([...grams], naiveGrams(big));
    // The thread's bitmap is left clear: the next file is not polluted by this one.
    assert.deepEqual([...distinctGrams(Buffer.from('abcd'))], naiveGrams(Buffer.from('abcd')));
  });
});

describe('content index: segments', () => {
  it('answer each trigram with the files holding it, built whole or merged from parts, read in place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'trawl-seg-'));
    try {
      fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 12 }), fc.nat(11), (files, cut) => {
        // A small alphabet, so that trigrams repeat across files.
        const data = files.map((f) => f.map((b) => 0x61 + (b % 3)));
        const sha = (i: number) => i.toString(16).padStart(64, '0');
        const entries = data.map((d, i) => ({ sha256: sha(i), grams: encodeAscending(distinctGrams(d)) }));
        const whole = buildSegment(entries);
        const k = Math.min(cut, entries.length);
        const merged = mergeSegments([buildSegment(entries.slice(0, k)), buildSegment(entries.slice(k))]);
        for (const [name, bytes] of [['whole', whole], ['merged', merged]] as const) {
          const path = join(dir, name);
          writeFileSync(path, bytes);
          const r = SegmentReader.open(path);
          try {
            assert.equal(r.files, data.length);
            for (let i = 0; i < data.length; i++) assert.equal(r.sha256(i), sha(i));
            const all = new Set(data.flatMap((d) => naiveGrams(d)));
            for (const g of [...all, 0x616161, 0x000000, 0xffffff]) {
              const expected = data.flatMap((d, i) => (naiveGrams(d).includes(g) ? [i] : []));
              assert.deepEqual([...r.postings(g)], expected, `${name} 0x${g.toString(16)}`);
            }
          } finally {
            r.close();
          }
        }
      }), { numRuns: 150 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('content index: rule plans', () => {
  it('never rule out a file a rule matches (generated rules and files, YARA-X deciding)', () => {
    const yarax = loadYaraX();
    let matched = 0;
    let planned = 0;
    fc.assert(fc.property(engineCaseArb({ maxRulesets: 4, maxFiles: 6 }), (c) => {
      for (const source of c.rulesets) {
        let rules;
        try {
          rules = yarax.compile(source);
        } catch {
          continue; // a combination the engine refuses
        }
        const plan = rulesQuery(source);
        if (plan) planned++;
        for (const file of c.files) {
          if (rules.scan(file).length === 0) continue;
          matched++;
          if (plan) assert.ok(holds(plan, file), `ruled out a match:\n${source}\nfile: ${JSON.stringify(file.toString('latin1'))}`);
        }
      }
    }), { numRuns: 400 });
    assert.ok(matched > 200 && planned > 200, `${matched} matches, ${planned} plans: the property was exercised`);
  });

  const bounded: [string, string, string][] = [
    // rule, a file it matches (latin1), a file it cannot match
    ['$a = "deadbeef1" condition: $a', 'xx deadbeef1 yy', 'deadbeef'],
    ['$a = "Hello" nocase condition: $a', 'hELLo', 'help'],
    ['$a = "wide1" wide condition: $a', 'w\0i\0d\0e\x001\0', 'wide1'],
    ['$a = "both" ascii wide condition: #a > 0', 'b\0o\0t\0h\0', 'bot'],
    ['$a = { 41 42 43 ?? 44 45 46 [2-4] 47 48 49 } condition: $a', 'ABCxDEFzzGHI', 'ABCxDEF'],
    ['$a = { 61 62 ( 63 | 64 ) 65 66 67 } condition: $a', 'abdefg', 'abcd'],
    ['$a = /foo[0-9]+barbaz/ condition: $a', 'foo12barbaz', 'foobar'],
    ['$a = /ab?cdefg/ condition: $a', 'acdefg', 'abcdef'],
    ['$a = /Quux\\.dll/i condition: $a', 'qUUX.DLL', 'quux'],
    ['$a = "one1" $b = "two2" condition: $a and $b', 'one1 two2', 'one1'],
    ['$a = "one1" $b = "two2" condition: any of them', 'two2', 'one two'],
    ['$a = "one1" $b = "two2" $c = "xyz" condition: 2 of ($a, $b) and filesize < 1MB and #c < 5', 'one1two2', 'xyz'],
    ['$a = "one1" $b = "two2" condition: for any of ($a, $b) : ($ at 0)', 'two2...', 'on'],
    ['$a = "lit" $b = "\\x41\\x42\\x43" condition: uint16(0) == 0x5a4d and ($a or $b)', 'MZ ABC', 'MZ'],
  ];
  for (const [body, hit, miss] of bounded) {
    it(`bound: ${body}`, () => {
      const source = `rule r { strings: ${body} }`;
      const rules = loadYaraX().compile(source);
      assert.equal(rules.scan(Buffer.from(hit, 'latin1')).length, 1, 'the hit matches');
      assert.equal(rules.scan(Buffer.from(miss, 'latin1')).length, 0, 'the miss does not');
      const plan = rulesQuery(source);
      assert.ok(plan, 'planned');
      assert.equal(holds(plan, Buffer.from(hit, 'latin1')), true);
      assert.equal(holds(plan, Buffer.from(miss, 'latin1')), false, 'the plan rules the miss out');
    });
  }

  const unbounded = [
    'rule r { strings: $a = "abcdef" condition: not $a }',
    'rule r { strings: $a = "abcdef" condition: $a or filesize > 10 }',
    'rule r { strings: $a = "abcdef" xor condition: $a }',
    'rule r { strings: $a = "abcdef" base64 condition: $a }',
    'rule r { strings: $a = "ab" condition: $a }',
    'rule r { strings: $a = /abc|def/ condition: $a }',
    'rule r { strings: $a = { 41 ?? 42 ?? 43 } condition: $a }',
    'rule r { strings: $a = "abcdef" condition: #a == 0 }',
    'rule r { condition: uint16(0) == 0x5a4d }',
    'rule a { strings: $a = "abcdef" condition: $a } rule b { condition: filesize < 10 }',
  ];
  for (const source of unbounded) {
    it(`no bound: ${source}`, () => {
      loadYaraX().compile(source);
      assert.equal(rulesQuery(source), null);
    });
  }

  it('follows references to other rules, private ones included, and leaves private rules out of the matches', () => {
    const source = 'private rule p { strings: $a = "needle1" condition: $a } rule r { condition: p }';
    const plan = rulesQuery(source);
    assert.ok(plan);
    assert.equal(holds(plan, Buffer.from('..needle1..')), true);
    assert.equal(holds(plan, Buffer.from('..needle..')), false);
  });
});
