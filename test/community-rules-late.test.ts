// Community rules an analysis did not wait for (rulesCompileWaitMs 0 and a large collection still
// compiling): the file's verdict comes from the late scan, and still makes no notification.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { api, fileForm, pollUntil, runCli, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

/** A collection file of `n` rules (so that it compiles for a while), one of which, `name`, matches `mark`. */
const bigRuleset = (name: string, mark: string, n = 800) => [
  `rule ${name} { meta: description = "late" strings: $a = "${mark}" condition: $a }`,
  ...Array.from({ length: n }, (_, i) => `rule filler_${i} { strings: $a = "FILLER-${i}-${randomBytes(6).toString('hex')}" condition: $a }`),
].join('\n');

describe('community rules caught up late', () => {
  let s: TestService;
  let rules: string;
  const logged: string[] = [];

  before(async () => {
    const sink = new Writable({ write(chunk, _enc, done) { logged.push(String(chunk)); done(); } });
    s = await startTestService({ rulesCompileWaitMs: '0' }, pino({ level: 'debug' }, sink));
    rules = await mkdtemp(join(tmpdir(), 'trawl-community-late-'));
  });
  after(async () => {
    await s.stop();
    await rm(rules, { recursive: true, force: true });
  });

  const upload = async (content: Buffer) => {
    const id = (await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm(content))).body.data.id as string;
    await waitForAnalysis(s.url, s.adminKey, id, 60_000);
    return createHash('sha256').update(content).digest('hex');
  };
  const file = async (sha256: string) => (await api(s.url, s.adminKey, 'GET', `/api/v3/files/${sha256}`)).body.data.attributes;

  it('fills the verdict from the late scan', async () => {
    await upload(randomBytes(64)); // the first snapshot is compiled
    await writeFile(join(rules, 'big.yar'), bigRuleset('Late_Marker', 'LATE-COMMUNITY-MARK'));
    const imported = await runCli(['rules', 'import', rules, '--data-dir', s.dir]);
    assert.equal(imported.out, 'added 1, updated 0, unchanged 0, enabled 0, disabled 0, failed 0\n', imported.err);
    const sha = await upload(Buffer.from(`LATE-COMMUNITY-MARK ${randomBytes(8).toString('hex')}`));
    assert.ok(logged.some((l) => l.includes('they scan late')), 'the analysis did not wait for the compile');
    const a = await pollUntil('late verdict', () => file(sha), (x) => x.crowdsourced_yara_results?.length === 1, 30_000, 50);
    assert.deepEqual(a.crowdsourced_yara_results.map((r: any) => [r.rule_name, r.description]), [['Late_Marker', 'late']]);
    assert.equal(a.last_analysis_results['Trawl-YARA'].category, 'malicious');
    assert.equal(a.last_analysis_stats.malicious, 1);
    const db = new Database(s.config.databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      assert.equal((db.prepare('select count(*) as n from hunting_notifications').get() as { n: number }).n, 0);
    } finally {
      db.close();
    }
  });
});
