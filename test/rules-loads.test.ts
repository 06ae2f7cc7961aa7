// Scanning threads load each compiled set once: a burst of uploads while rulesets are being
// imported must not make a thread deserialize the same set again (a 7 MB set costs 1-2 s of CPU),
// and every upload acknowledged after a ruleset's creation returned is still hunted with it.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { compileToShared } from '../src/hunting/engine/shared-compile.js';
import { Matcher } from '../src/hunting/scan/matcher.js';
import type { ScanArtifact } from '../src/hunting/engine/rules-artifact.js';
import { api, fileForm, startTestService, waitForAnalysis } from './helpers/service.js';

const RULESETS = '/api/v3/intelligence/hunting_rulesets';

/** A logger at debug level whose lines are kept as parsed objects. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  let rest = '';
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const text = rest + chunk.toString();
      const parts = text.split('\n');
      rest = parts.pop()!;
      for (const p of parts) if (p) lines.push(JSON.parse(p) as Record<string, unknown>);
      done();
    },
  });
  return { log: pino({ level: 'debug' }, sink), lines };
}

/** A compiled set of one ruleset matching `marker`, as the catalog ships it. */
function artifact(digest: string, marker: string): ScanArtifact {
  const { bytes } = compileToShared([{ id: 1, generation: 1, rules: `rule m { strings: $a = "${marker}" condition: $a }` }]);
  return { key: 'delta', digest, bytes };
}

describe('rule sets on the scanning threads', () => {
  it('a thread keeps a set a queued task still lists after loading its successor, instead of loading the two in turn', () => {
    const matcher = new Matcher(7);
    const older = artifact('delta#1', 'OLD-MARK');
    const newer = artifact('delta#2', 'NEW-MARK');
    const task = (a: ScanArtifact) => ({ artifacts: [a], timeoutMs: 5000, maxBytes: 1e6 });
    assert.deepEqual(matcher.load([newer]).map((l) => [l.digest, l.thread, l.loadsSoFar, l.scansSoFar]), [['delta#2', 7, 1, 0]]);
    // A task queued before the catalog published delta#2 still lists delta#1.
    const old = matcher.scan(Buffer.from('OLD-MARK'), task(older));
    assert.deepEqual(old.matches.map((m) => m.rule), ['m']);
    assert.deepEqual(old.loads?.map((l) => l.digest), ['delta#1']);
    for (let i = 0; i < 3; i++) {
      const r = matcher.scan(Buffer.from('NEW-MARK'), task(newer));
      assert.deepEqual(r.matches.map((m) => m.rule), ['m']);
      assert.equal(r.loads, undefined, 'delta#2 is not loaded again');
      assert.equal(matcher.scan(Buffer.from('OLD-MARK'), task(older)).loads, undefined, 'nor delta#1');
    }
  });

  it('a burst of uploads during a rules import loads each set at most once per thread, and misses no new ruleset', async () => {
    const { log, lines } = capturingLogger();
    const s = await startTestService({ shardRebuildDelay: '1' }, log);
    try {
      const key = s.adminKey;
      const uploads: Promise<{ id: string; sha256: string; rule: string }>[] = [];
      // 24 rulesets created 3 at a time; once each creation returned, two files with its marker.
      let next = 0;
      const creator = async () => {
        while (next < 24) {
          const i = next++;
          const marker = `IMPORT-MARK-${i}-${randomBytes(4).toString('hex')}`;
          const r = await api(s.url, key, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name: `import_${i}`, enabled: true, rules: `rule import_${i} { strings: $a = "${marker}" condition: $a }` } } });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          for (let k = 0; k < 2; k++) {
            const content = Buffer.from(`${marker} ${k} ${randomBytes(8).toString('hex')}`);
            uploads.push(api(s.url, key, 'POST', '/api/v3/files', fileForm(content)).then((u) => {
              assert.equal(u.status, 200);
              return { id: u.body.data.id as string, sha256: createHash('sha256').update(content).digest('hex'), rule: `import_${i}` };
            }));
          }
        }
      };
      await Promise.all([creator(), creator(), creator()]);
      const done = await Promise.all(uploads);
      for (const u of done) await waitForAnalysis(s.url, key, u.id);
      for (const u of done) {
        const got = await api(s.url, key, 'GET', `/api/v3/users/admin/hunting_notification_files?filter=${u.sha256}`);
        assert.deepEqual(got.body.data.map((d: any) => d.context_attributes.rule_name), [u.rule], `${u.rule} hunted a file uploaded after its creation`);
      }

      const loads = lines.filter((l) => l.msg === 'rule set loaded by a scanning thread');
      assert.ok(loads.length >= 2, 'the threads reported the sets they loaded');
      const times = new Map<string, number>();
      for (const l of loads) times.set(`${l.thread} ${l.digest}`, (times.get(`${l.thread} ${l.digest}`) ?? 0) + 1);
      assert.deepEqual([...times].filter(([, n]) => n > 1), [], 'no thread loaded a set twice');
      assert.ok(loads.every((l) => typeof l.scans === 'number' && typeof l.loads === 'number'), 'each line counts the thread\'s scans and loads');
    } finally {
      await s.stop();
    }
  });
});
