// Pins the parts of the YARA-X native binding (@litko/yara-x-linux-x64-gnu 0.7.2) that
// src/hunting relies on: if an upgrade changes any of them, this fails before the adapter does.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadYaraX, yaraXEngineVersion } from '../src/hunting/engine/yara-x.js';
import { runCli } from './helpers/service.js';

const yara = loadYaraX();

describe('YARA-X binding API', () => {
  it('compiles many namespaces at once; scan results carry namespace, tags, meta and flat matches', () => {
    const rules = yara.compile('', { defineVariables: { filename: '' } });
    rules.addRuleSources([
      { source: 'rule test : t1 t2 { meta: m = "v" n = 3 strings: $a = "abc" condition: $a }', namespace: 'r1' },
      { source: 'rule test { strings: $b = "bcd" $c = { 64 61 } condition: all of them }', namespace: 'r2' },
      { source: 'rule cond { condition: filesize > 2 and filename == "" }', namespace: 'r3' },
    ]);
    const res = rules.scan(Buffer.from('abcdabc'));
    assert.deepEqual(
      res.map((r) => [r.namespace, r.ruleIdentifier, r.tags, r.meta]),
      [['r1', 'test', ['t1', 't2'], { m: 'v', n: 3 }], ['r2', 'test', [], {}], ['r3', 'cond', [], {}]],
    );
    assert.deepEqual(res[0]!.matches, [
      { identifier: '$a', offset: 0, length: 3, data: 'abc' },
      { identifier: '$a', offset: 4, length: 3, data: 'abc' },
    ]);
    assert.deepEqual(res[1]!.matches.map((m) => [m.identifier, m.offset, m.length]), [['$b', 1, 3], ['$c', 3, 2]]);
    assert.deepEqual(res[2]!.matches, []);
    assert.deepEqual(rules.scan(new Uint8Array([0x78])), [], 'accepts a Uint8Array; no match -> []');
  });

  it('reports compile errors with code and the position only inside the rendered message', () => {
    const { errors } = yara.validate('rule a {\n  condition: foo\n}\nrule b { condition: bar }');
    assert.equal(errors.length, 2, 'validate reports every error');
    assert.equal(errors[0]!.code, 'E009');
    assert.match(errors[0]!.message, /^error\[E009\]: unknown identifier `foo`\n --> line:2:14\n/);
    assert.equal(errors[0]!.line, undefined, '0.7.2 leaves line/column unset');
    assert.throws(
      () => yara.compile('rule a { condition: foo }'),
      (e: Error & { code?: string }) => /^Compilation error \(E009\): error\[E009\]: .*\n --> line:1:21/.test(e.message),
    );
  });

  it('reports slow patterns as warnings, or as errors E018/E034 on request', () => {
    const slow = 'rule s { strings: $a = "x" condition: $a }';
    assert.deepEqual(yara.validate(slow).warnings.map((w) => w.code), ['slow_pattern']);
    assert.deepEqual(yara.validate(slow, { errorOnSlowPattern: true }).errors.map((e) => e.code), ['E018']);
    const loop = 'rule l { condition: for all i in (0..filesize) : (uint8(i) == 0) }';
    assert.deepEqual(yara.validate(loop).warnings.map((w) => w.code), ['potentially_slow_loop']);
    assert.deepEqual(yara.validate(loop, { errorOnSlowLoop: true }).errors.map((e) => e.code), ['E034']);
    assert.deepEqual(yara.compile(slow).getWarnings().map((w) => w.code), ['slow_pattern']);
  });

  it('keeps compile options for later addRuleSources; disables includes; needs externals declared', () => {
    const poisoned = yara.compile('', { errorOnSlowPattern: true });
    assert.throws(() => poisoned.addRuleSources([{ source: 'rule s { strings: $a = "x" condition: $a }', namespace: 'n' }]), /E018/);
    assert.throws(
      () => poisoned.addRuleSources([{ source: 'rule ok { condition: filesize > 1 }', namespace: 'm' }]),
      /E018/,
      'a failed source stays in the instance: every later add recompiles and fails again',
    );
    const rules = yara.compile('', { relaxedReSyntax: true });
    rules.addRuleSources([{ source: 'rule r { strings: $a = /a\\Rb/ condition: $a }', namespace: 'n' }]);
    assert.equal(rules.scan(Buffer.from('aRb')).length, 1);
    assert.deepEqual(yara.validate('include "/etc/passwd"\nrule a { condition: true }', { enableIncludes: false }).errors.map((e) => e.code), ['E044']);
    assert.deepEqual(yara.validate('rule a { condition: filename == "" }').errors.map((e) => e.code), ['E009']);
    assert.deepEqual(yara.validate('rule a { condition: filename == "" and positives > 0 and not new_file }', {
      defineVariables: { filename: '', positives: 0, new_file: false },
    }).errors, []);
    assert.deepEqual(yara.validate('rule a { condition: true }\nrule a { condition: true }').errors.map((e) => e.code), ['E012']);
  });

  it('takes variable values per scan, but reads a string spelling an integer or boolean as that type', () => {
    const rules = yara.compile('rule named { condition: filename == "a.exe" and submissions == 2 }', { defineVariables: { filename: '', submissions: 0 } });
    assert.equal(rules.scan(Buffer.from('x'), { filename: 'a.exe', submissions: 2 }).length, 1);
    assert.equal(rules.scan(Buffer.from('x')).length, 0, 'values last one scan');
    // The quirk bindingSafeVariables works around.
    assert.throws(() => rules.scan(Buffer.from('x'), { filename: '42' }), /invalid type for `filename`, expecting `string`, got `integer/);
    assert.throws(() => rules.scan(Buffer.from('x'), { filename: 'true' }), /got `boolean/);
    assert.throws(() => rules.scan(Buffer.from('x'), { undeclared: 'x' }), /not defined/);
  });

  it('serializes and deserializes compiled rules with their namespaces', () => {
    const rules = yara.compile('rule t { strings: $a = "ab" condition: $a }', { namespace: 'n1' });
    const buf = rules.serialize();
    assert.ok(Buffer.isBuffer(buf));
    const back = yara.deserialize(buf);
    assert.deepEqual(back.scan(Buffer.from('xab')).map((r) => [r.namespace, r.ruleIdentifier, r.matches[0]?.offset]), [['n1', 't', 1]]);
  });

  it('times out a long scan with Error("Scan timed out"), code Cancelled, at 1-second resolution', () => {
    const rules = yara.compile('rule slow { strings: $a = "abcd" condition: for any i in (1..#a) : (for any j in (1..#a) : (@a[i] == @a[j] + 3)) }');
    rules.setTimeout(100);
    const t0 = Date.now();
    assert.throws(() => rules.scan(Buffer.from('abcd'.repeat(50_000))), (e: Error & { code?: string }) => e.message === 'Scan timed out' && e.code === 'Cancelled');
    const took = Date.now() - t0;
    assert.ok(took >= 900 && took < 5000, `timed out after ${took} ms`);
  });

  it('carries YARA-X 1.20.0, the release the condition rewrite and the differential test were checked with', async () => {
    // An engine upgrade changes what matches: it lands only with engine-differential.test.ts and
    // bench/engine-differential.js passing on it, and docs/engine.md updated (then change this).
    assert.equal(yaraXEngineVersion(), '1.20.0');
    const v = await runCli(['--version']);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^trawl \d+\.\d+\.\d+ \(YARA-X 1\.20\.0 through @litko\/yara-x-linux-x64-gnu 0\.7\.2\)\n$/);
  });
});
