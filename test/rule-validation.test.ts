// validateRuleset: what a hunting ruleset must satisfy before it is stored (spec 2.4).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrawlError } from '../src/model/errors.js';
import { validateRuleset } from '../src/hunting/rulesets/rule-validation.js';

const opts = { maxBytes: 1024 * 1024 };

function refused(source: string, pattern: RegExp, maxBytes = opts.maxBytes) {
  assert.throws(
    () => validateRuleset(source, { maxBytes }),
    (e: unknown) => {
      assert.ok(e instanceof TrawlError, String(e));
      assert.equal(e.code, 'InvalidArgumentError');
      assert.match(e.message, pattern);
      return true;
    },
  );
}

const realistic = `
import "pe"

/* A realistic rule: hex jumps, wildcards, alternatives, a regex, text modifiers, externals. */
rule Suspicious_Loader : loader windows {
  meta:
    author = "trawl"
    description = "rule { with braces } in a string"
  strings:
    $mz = { 4D 5A [2-4] ?? 00 ( 01 | 02 ) }
    $url = /https?:\\/\\/[a-z0-9.-]{3,64}\\/[a-z]{1,8}\\.php/ nocase
    $s1 = "VirtualAlloc" ascii wide
    $s2 = "rule fake {" xor
  condition:
    $mz at 0 and ($url or 2 of ($s*)) and filesize < 2MB and not new_file
}

// rule commented_out { condition: true }
private rule helper { strings: $a = { E8 ?? ?? ?? ?? 5D C3 } condition: $a }
global rule Global_Check { condition: filesize > 16 and extension == "" }
rule uses_helper { condition: helper and pe.is_pe }
`;

describe('validateRuleset', () => {
  it('accepts a realistic ruleset and returns its rule names in order', () => {
    const r = validateRuleset(realistic, opts);
    assert.deepEqual(r.ruleNames, ['Suspicious_Loader', 'helper', 'Global_Check', 'uses_helper']);
    assert.ok(Array.isArray(r.warnings));
  });

  it('defines the common external variables so public rules compile', () => {
    const src = 'rule ext { condition: filename matches /\\.exe$/ or filepath contains "x" or extension == ".dll" or filetype == "pe" or owner == "root" or file_type == "peexe" or positives > 3 or signatures contains "a" or tags contains "b" or submissions > 0 }';
    assert.deepEqual(validateRuleset(src, opts).ruleNames, ['ext']);
  });

  it('refuses bad syntax with line and column and the engine text', () => {
    refused('rule ok { condition: true }\nrule bad {\n  condition: $a and\n}', /line 4, column 1: error\[E001\]: syntax error[\s\S]*--> line:4:1/);
    refused('rule a { condition: undefined_thing }', /line 1, column 21: error\[E009\]: unknown identifier `undefined_thing`/);
    // VirusTotal's own metadata cannot be had here: the message says so and what to use instead.
    refused('import "vt"\nrule v { condition: vt.metadata.new_file }', /line 2, column \d+: error\[E100\][\s\S]*Trawl does not have[\s\S]*new_file and file_type contains "pe"/);
  });

  it('refuses slow patterns; accepts potentially slow loops with a warning', () => {
    refused('rule s { strings: $a = "x" condition: $a }', /line 1, column 19: error\[E018\]: slow pattern/);
    refused('rule s { strings: $a = /a.*/ condition: $a }', /E018\]: slow pattern/);
    const loop = validateRuleset('rule l { strings: $a = "abcd" condition: for any i in (1..#a) : (@a[i] < 100) }', opts);
    assert.deepEqual(loop.ruleNames, ['l']);
    assert.match(loop.warnings.join('\n'), /^line 1, column 55: warning\[potentially_slow_loop\]/);
  });

  it('refuses include directives without reading the file', () => {
    refused('include "/etc/passwd"\nrule a { condition: filesize > 0 }', /line 1: include directives are disabled/);
    // The engine refuses it too when hidden from the lexer's simple check.
    refused('rule a { condition: filesize > 0 }\n  include\n"x"', /include/);
  });

  it('refuses empty, whitespace-only and rule-less sources', () => {
    refused('', /ruleset has no rules/);
    refused(' \n\t ', /ruleset has no rules/);
    refused('// nothing\nimport "pe"\n', /ruleset has no rules/);
  });

  it('refuses an oversize source fast, without compiling it', () => {
    const huge = 'rule a { condition: true }\n' + '/'.repeat(10 * 1024 * 1024);
    const t0 = performance.now();
    refused(huge, /larger than the limit of 1048576 bytes/);
    const ms = performance.now() - t0;
    assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
    // Counted in UTF-8 bytes: 600,000 three-byte characters exceed 1 MB.
    refused(`rule a { meta: m = "${'€'.repeat(600_000)}" condition: true }`, /larger than the limit/);
  });

  it('refuses duplicate rule names', () => {
    refused('rule a { condition: filesize > 0 }\nrule b { condition: filesize > 1 }\nrule a { condition: filesize > 2 }', /line 3, column 6: error\[E012\]: duplicate rule `a`/);
  });
});
