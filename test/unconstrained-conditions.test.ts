// The condition rewrite that keeps YARA-X 1.20.0 from misapplying pattern constraints: it finds
// every rule's condition whatever surrounds it, keeps lines where they were, and compiles to the
// same matches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { huntingCompilerOptions } from '../src/hunting/engine/engine-options.js';
import { conditionSpans, NEVER_TRUE, unconstrainedConditions } from '../src/hunting/engine/unconstrained-conditions.js';
import { loadYaraX } from '../src/hunting/engine/yara-x.js';

/** Rule names that match `data` when `source` is compiled with the hunting options. */
function matching(source: string, data: string): string[] {
  const rules = loadYaraX().compile(source, huntingCompilerOptions());
  return rules.scan(Buffer.from(data, 'latin1')).map((m) => m.ruleIdentifier).sort();
}

/** Every brace, quote and slash a lexer could trip on, in every place YARA allows them. */
const TRICKY = String.raw`import "pe"
/* a comment with } and "quotes" and rule fake { condition: false } */
rule first : tag_one tag2
{
  meta:
    author = "someone } with a brace"
    note = "escaped \" quote and condition: true }"
    score = -1
    ok = true
  strings:
    $hex = { 4D 5A // a comment } inside a hex pattern
             [0-2] ( 90 | 91 ) /* and } here */ ?? }
    $re = /a\/b}c"d/ nocase
    $re2 = /[}{]x{2,3}/
    $s = "condition: }" wide ascii
  condition: // the condition starts here }
    uint16(0) == 0x5a4d and ($hex or $re or $re2 or $s) /* } */ // tail }
}
private rule second { strings: $a = "zz}" condition: $a }
global rule third {condition:filesize>0}
rule fourth { condition: second and "a}b" contains "}" and first }
`;

describe('unconstrainedConditions', () => {
  it('finds the condition of every rule, wherever braces, quotes and slashes stand', () => {
    const spans = conditionSpans(TRICKY);
    assert.deepEqual(
      spans.map((s) => TRICKY.slice(s.start, s.end).trim()),
      [
        '// the condition starts here }\n    uint16(0) == 0x5a4d and ($hex or $re or $re2 or $s) /* } */ // tail }',
        '$a',
        'filesize>0',
        'second and "a}b" contains "}" and first',
      ],
    );
  });

  it('keeps every line where it was and compiles to the same matches', () => {
    const rewritten = unconstrainedConditions(TRICKY);
    assert.equal(rewritten.split('\n').length, TRICKY.split('\n').length);
    const changed = rewritten.split('\n').map((l, i) => (l === TRICKY.split('\n')[i] ? null : i + 1)).filter((n) => n !== null);
    assert.deepEqual(changed, [16, 18, 19, 20, 21]); // lines holding a condition's first or last character
    assert.equal((rewritten.match(new RegExp(`\\) or ${NEVER_TRUE}`, 'g')) ?? []).length, 4);
    for (const data of ['MZ\x90\x91xx zz}', 'MZ..a/b}c"d zz}', 'MZ }}xx zz}', 'ELF zz}', '', 'MZ', 'MZ zz']) {
      assert.deepEqual(matching(rewritten, data), matching(TRICKY, data), JSON.stringify(data));
    }
    assert.deepEqual(matching(rewritten, 'MZ\x90\x91xx zz}'), ['first', 'fourth', 'third']);
  });

  it('handles CRLF line ends, a closing brace on the condition line, and sources without rules', () => {
    const crlf = 'rule a {\r\n  strings: $a = "x1x1"\r\n  condition: $a // note\r\n}\r\nrule b { condition: true}';
    const rewritten = unconstrainedConditions(crlf);
    assert.equal(rewritten, `rule a {\r\n  strings: $a = "x1x1"\r\n  condition:( $a // note\r\n) or ${NEVER_TRUE}}\r\nrule b { condition:( true) or ${NEVER_TRUE}}`);
    assert.deepEqual(matching(rewritten, 'x1x1'), ['a', 'b']);
    assert.equal(unconstrainedConditions('// nothing here\n'), '// nothing here\n');
  });
});
