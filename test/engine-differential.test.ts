// Every match and only matches: Trawl's hunting path (compile thread + scanning thread) held to
// Debian's yara 4.x on the same rulesets and bytes. The two cases of YARA-X 1.20.0's known
// regressions first, then generated rulesets that share and overlap patterns across rules and
// rulesets, with generated files that hit and miss them (test/helpers/yara-cases.ts). A larger
// run is `node dist/bench/engine-differential.js` (docs/engine.md).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { yaraXEngineVersion } from '../src/hunting/engine/yara-x.js';
import { minus, referenceYaraVersion, trawlMatches, yaraMatches, type CaseRuleset } from './helpers/reference-yara.js';
import { caseSize, engineCaseArb } from './helpers/yara-cases.js';

const reference = await referenceYaraVersion();
const noYara = reference ? false : "Debian's yara is not installed (scripts/test.sh installs it when run as root)";

/** yara-x issue 762: `RemoteShell` shared with a rule whose header test fails was lost for A. */
const ISSUE_762 = {
  rulesets: [
    { id: 1, source: 'rule B { strings: $s1 = "RemoteShell" ascii $s3 = "HttpChannel" ascii condition: uint16(0) == 0x457f and all of them }' },
    { id: 2, source: 'rule A { strings: $a1 = "SETTINGS" wide $a4 = "RemoteShell" condition: all of them }' },
  ],
  file: Buffer.concat([Buffer.from('MZ'), Buffer.from('SETTINGS', 'utf16le'), Buffer.from('\nRemoteShell\n')]),
};

/** yara-x issue 771: `testtest` skipped for `bug` too, so `not $plain` held on a file that has it. */
const ISSUE_771 = {
  rulesets: [
    { id: 1, source: 'rule trigger { strings: $s1 = "testtest" wide ascii condition: uint16(0)==0x5a4d and $s1 }' },
    { id: 2, source: 'rule bug { strings: $xor = "testtest" xor ascii wide $plain = "testtest" ascii wide condition: $xor and not $plain }' },
  ],
  negative: Buffer.from('testtest\nudruudru\n'),
  positive: Buffer.from('aksdfjlkasj\nudruudru\n'),
};

const rules = (s: Set<string>) => [...s].map((k) => k.split('\t').slice(1).join(':')).sort();

describe('hunting matches what yara matches', () => {
  it('finds the match YARA-X 1.20.0 loses when another ruleset shares the pattern (yara-x issue 762)', () => {
    for (const order of [ISSUE_762.rulesets, [...ISSUE_762.rulesets].reverse()]) {
      assert.deepEqual(rules(trawlMatches(order, [ISSUE_762.file]).matches), ['2:A']);
    }
    // A shard compiles rulesets in id order, and so does this: the order that loses the match.
    if (yaraXEngineVersion() === '1.20.0') {
      assert.deepEqual(rules(trawlMatches(ISSUE_762.rulesets, [ISSUE_762.file], undefined, { asWritten: true }).matches), [], 'the engine bug this guards against');
    }
  });

  it('gives no false match where YARA-X 1.20.0 invents one (yara-x issue 771)', () => {
    const { matches } = trawlMatches(ISSUE_771.rulesets, [ISSUE_771.negative, ISSUE_771.positive]);
    assert.deepEqual([...matches].sort(), ['1\t2\tbug']);
  });

  it('the same two cases give the same matches in yara', { skip: noYara }, async () => {
    assert.deepEqual(rules((await yaraMatches(ISSUE_762.rulesets, [ISSUE_762.file])).matches), ['2:A']);
    assert.deepEqual([...(await yaraMatches(ISSUE_771.rulesets, [ISSUE_771.negative, ISSUE_771.positive])).matches], ['1\t2\tbug']);
  });

  it('matches exactly what yara matches on generated rulesets that share and overlap patterns', { skip: noYara }, async () => {
    let decided = 0;
    await fc.assert(
      fc.asyncProperty(engineCaseArb(), async (c) => {
        const rulesets: CaseRuleset[] = c.rulesets.map((source, i) => ({ id: i + 1, source }));
        const ref = await yaraMatches(rulesets, c.files);
        const trawl = trawlMatches(rulesets, c.files);
        assert.deepEqual([...trawl.failed.keys()], [...ref.refused.keys()], 'both engines accept the same rulesets');
        assert.deepEqual({ missed: minus(ref.matches, trawl.matches), extra: minus(trawl.matches, ref.matches) }, { missed: [], extra: [] });
        decided += caseSize(c);
      }),
      // A fixed seed: CI decides the same cases every time (bench/engine-differential.ts varies them).
      { numRuns: Number(process.env.TRAWL_DIFF_RUNS ?? 150), seed: Number(process.env.TRAWL_DIFF_SEED ?? 21) },
    );
    assert.ok(decided > 1000, `only ${decided} (rule, file) cases were compared`);
  });
});
