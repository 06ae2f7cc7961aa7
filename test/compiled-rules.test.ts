// compileRulesets: many rulesets in one compiled set, one namespace each, scanned in one pass.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRulesets, CompiledRules, ScanTimeoutError } from '../src/hunting/engine/compiled-rules.js';

describe('compileRulesets', () => {
  const rulesets = [
    { id: '7926136120', source: 'rule test : Tag1 tag2 { strings: $a = "hello" $b = { 77 6F ?? 6C 64 } condition: $a and $b }' },
    { id: '11245226372', source: 'rule test { strings: $x = "world" condition: $x }\nrule cond_only { condition: filesize > 4 }' },
  ];

  it('matches same-named rules in different rulesets and maps them back to their ids', () => {
    const compiled = compileRulesets(rulesets);
    assert.deepEqual(compiled.failed, []);
    const matches = compiled.scan(Buffer.from('hello world, hello'), 5000);
    assert.deepEqual(matches, [
      {
        rulesetId: '7926136120',
        rule: 'test',
        tags: ['Tag1', 'tag2'],
        patterns: [
          { identifier: '$a', matches: [{ offset: 0, length: 5 }, { offset: 13, length: 5 }] },
          { identifier: '$b', matches: [{ offset: 6, length: 5 }] },
        ],
      },
      { rulesetId: '11245226372', rule: 'test', tags: [], patterns: [{ identifier: '$x', matches: [{ offset: 6, length: 5 }] }] },
      { rulesetId: '11245226372', rule: 'cond_only', tags: [], patterns: [] },
    ]);
    assert.deepEqual(compiled.scan(Buffer.from('nope'), 5000), []);
  });

  it('skips a ruleset that does not compile and reports it, compiling the others', () => {
    const compiled = compileRulesets([
      ...rulesets,
      { id: '3', source: 'rule broken {\n condition: nonexistent\n}' },
      { id: '4', source: 'rule slow { strings: $a = "x" condition: $a }' },
    ]);
    assert.deepEqual(compiled.rulesetIds, ['7926136120', '11245226372']);
    assert.deepEqual(compiled.failed.map((f) => f.id), ['3', '4']);
    assert.match(compiled.failed[0]!.error, /line 2, column 13: error\[E009\]: unknown identifier `nonexistent`/);
    assert.match(compiled.failed[1]!.error, /E018/);
    assert.equal(compiled.scan(Buffer.from('hello world'), 5000).length, 3);
  });

  it('compiles an empty list to a set that matches nothing', () => {
    assert.deepEqual(compileRulesets([]).scan(Buffer.from('abc'), 1000), []);
  });

  it('serializes and deserializes, keeping namespaces, ids and failures', () => {
    const compiled = compileRulesets([...rulesets, { id: '9', source: 'rule x { condition: nope }' }]);
    const back = CompiledRules.deserialize(compiled.serialize());
    assert.deepEqual(back.rulesetIds, compiled.rulesetIds);
    assert.deepEqual(back.failed, compiled.failed);
    const data = Buffer.from('hello world');
    assert.deepEqual(back.scan(data, 5000), compiled.scan(data, 5000));
  });

  it('reports a scan that overruns its timeout as ScanTimeoutError instead of hanging', () => {
    // Quadratic condition over 50,000 matches: minutes of work without the timeout.
    const compiled = compileRulesets([
      { id: '1', source: 'rule slow { strings: $a = "abcd" condition: for any i in (1..#a) : (for any j in (1..#a) : (@a[i] == @a[j] + 3)) }' },
    ]);
    const t0 = Date.now();
    assert.throws(() => compiled.scan(Buffer.from('abcd'.repeat(50_000)), 1000), (e: unknown) => {
      assert.ok(e instanceof ScanTimeoutError, String(e));
      assert.match(e.message, /timed out after 1000 ms/);
      return true;
    });
    assert.ok(Date.now() - t0 < 5000);
    // The same compiled set keeps working after a timeout.
    assert.equal(compiled.scan(Buffer.from('abcd'), 1000).length, 0);
  });
});
