// Worker-thread entry for everything that compiles rules, so that compiling (milliseconds to
// seconds) never blocks the API's event loop or the scanning threads: validating a ruleset at
// the door (rulesets/), compiling rule sets into shared memory (shared-compile.ts), and hunting
// down the ruleset that makes a scan slow (scan/slow-ruleset-search.ts).
import { readFileSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { serveTasks } from '../../threads/worker-pool.js';
import { compileToShared } from './shared-compile.js';
import { investigate } from '../scan/slow-ruleset-search.js';
import { diagnoseRuleset, validateRuleset } from '../rulesets/rule-validation.js';
import { probeRulesetSpeed } from '../rulesets/rule-speed-probe.js';
import { releaseDroppedRules, releaseEvery } from './native-memory.js';
import type { RulesetSource } from '../../store/store.js';

if (!isMainThread) {
  // Every task leaves compiled rules behind (native-memory.ts): validations are small and many
  // (an import makes hundreds), compiles and investigations large.
  const afterValidation = releaseEvery(16);
  const released = <T>(result: T): T => {
    releaseDroppedRules();
    return result;
  };
  serveTasks({
    validate: (t) => {
      const validated = validateRuleset(t.source as string, { maxBytes: t.maxBytes as number });
      probeRulesetSpeed(t.source as string);
      afterValidation();
      return validated;
    },
    // The web editor's check while typing: every problem with its position, nothing thrown.
    diagnose: (t) => {
      const diagnosis = diagnoseRuleset(t.source as string, { maxBytes: t.maxBytes as number, probe: probeRulesetSpeed });
      afterValidation();
      return diagnosis;
    },
    compile: (t) => released(compileToShared(t.rulesets as RulesetSource[], { probe: t.probe === true })),
    investigate: (t) => released(investigate(t.rulesets as RulesetSource[], readFileSync(t.path as string), t.slowMs as number, t.artifact as string)),
  });
}
