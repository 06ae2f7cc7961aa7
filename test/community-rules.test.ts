// Verdicts without antivirus engines, end to end: `trawl rules import` loads community rules into
// a running service's database; their matches fill a File object's crowdsourced_yara_results and
// a Trawl-YARA result in last_analysis_results/stats (so OpenCTI's Livehunt connector, which
// skips files with too few `malicious`, takes them), never anyone's notifications.
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { api, fileForm, newUser, runCli, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const RULESETS = '/api/v3/intelligence/hunting_rulesets';
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const EVIL = `rule Evil_Marker : trojan {
  meta:
    author = "Jane \\"JD\\" Doe"
    description = "Finds the evil marker"
  strings:
    $m = "TRAWL-COMMUNITY-EVIL"
  condition:
    $m
}
`;
const OTHER = 'rule Other_Marker { strings: $m = "TRAWL-COMMUNITY-OTHER" condition: $m }\n';
const BROKEN = 'rule Broken { strings: $m = "x" condition: $m and }\n';

/**
 * OpenCTI's VirusTotal Livehunt connector (external-import/virustotal-livehunt-notifications,
 * builder.py `process`) as it filters an IoC Stream file: it needs last_analysis_stats with
 * `malicious` at least min_positives, and computes its score from malicious, harmless and
 * undetected (a missing key is a KeyError there).
 */
function openCtiTakes(file: any, minPositives = 1): { takes: boolean; score?: number } {
  const stats = file.attributes?.last_analysis_stats;
  if (!stats || !minPositives || (stats.malicious ?? 0) < minPositives) return { takes: false };
  return { takes: true, score: Math.round((stats.malicious / (stats.harmless + stats.undetected + stats.malicious)) * 100) };
}

async function writeTree(root: string, files: Record<string, string | null>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    const p = join(root, path);
    if (text === null) await rm(p, { force: true });
    else {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, text);
    }
  }
}

describe('community rules', () => {
  let s: TestService;
  let alice: string;
  let bob: string;
  let rules: string;

  const trawl = (...args: string[]) => runCli([...args, '--data-dir', s.dir]);
  const upload = async (key: string, content: Buffer) => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(s.url, key, r.body.data.id);
    const f = await api(s.url, key, 'GET', `/api/v3/files/${sha256(content)}`);
    assert.equal(f.status, 200);
    return f.body.data;
  };
  const sample = (marker: string) => Buffer.concat([randomBytes(40), Buffer.from(`..${marker}..`), randomBytes(40)]);

  before(async () => {
    s = await startTestService();
    alice = await newUser(s, 'alice');
    bob = await newUser(s, 'bob');
    rules = await mkdtemp(join(tmpdir(), 'trawl-community-'));
    await writeTree(rules, { 'apt/evil.yar': EVIL, 'misc/other.yara': OTHER, 'broken.yar': BROKEN, 'README.txt': 'not rules' });
  });
  after(async () => {
    await s.stop();
    await rm(rules, { recursive: true, force: true });
  });

  it('imports a folder, skipping a file that does not compile, and files get verdicts instead of notifications', async () => {
    const imported = await trawl('rules', 'import', rules);
    assert.equal(imported.code, 0, imported.err);
    assert.equal(imported.out, 'added 2, updated 0, unchanged 0, enabled 0, disabled 0, failed 1\n');
    assert.match(imported.err, /failed broken\.yar: .*error/i);
    assert.match(imported.err, /\[\d\/3\] added apt\/evil\.yar/);

    // Alice hunts the same marker with Livehunt: her notifications are hers alone.
    const mine = await api(s.url, alice, 'POST', RULESETS, { data: { type: 'hunting_ruleset', attributes: { name: 'alices', enabled: true, rules: 'rule Alice_Any { strings: $m = "TRAWL-COMMUNITY-" condition: $m }' } } });
    assert.equal(mine.status, 200, JSON.stringify(mine.body));

    const evil = await upload(bob, sample('TRAWL-COMMUNITY-EVIL'));
    const a = evil.attributes;
    assert.equal(a.crowdsourced_yara_results.length, 1);
    const [hit] = a.crowdsourced_yara_results;
    assert.deepEqual({ ...hit, ruleset_id: undefined }, {
      rule_name: 'Evil_Marker', ruleset_id: undefined, ruleset_name: 'apt/evil.yar', source: rules,
      author: 'Jane "JD" Doe', description: 'Finds the evil marker', match_in_subfile: false,
    });
    assert.match(hit.ruleset_id, /^\d+$/);
    const engine = a.last_analysis_results['Trawl-YARA'];
    assert.equal(engine.category, 'malicious');
    assert.equal(engine.engine_name, 'Trawl-YARA');
    assert.equal(engine.result, 'Evil_Marker');
    assert.equal(engine.method, 'blacklist');
    assert.match(engine.engine_update, /^\d{8}$/);
    assert.equal(typeof engine.engine_version, 'string');
    assert.equal(a.last_analysis_stats.malicious, 1);
    assert.equal(a.last_analysis_stats.undetected, 0);

    const clean = await upload(bob, sample('TRAWL-COMMUNITY-NOTHING'));
    assert.equal(clean.attributes.crowdsourced_yara_results, undefined);
    assert.deepEqual(clean.attributes.last_analysis_results['Trawl-YARA'].category, 'undetected');
    assert.equal(clean.attributes.last_analysis_results['Trawl-YARA'].result, null);
    assert.equal(clean.attributes.last_analysis_stats.malicious, 0);
    assert.equal(clean.attributes.last_analysis_stats.undetected, 1);

    // No user sees the community rulesets, nor gets notified by them.
    for (const key of [alice, bob, s.adminKey]) {
      const list = await api(s.url, key, 'GET', `${RULESETS}?limit=40`);
      assert.equal(list.status, 200);
      assert.ok(list.body.data.every((r: any) => r.attributes.name === 'alices'), JSON.stringify(list.body.data.map((r: any) => r.attributes.name)));
      assert.equal((await api(s.url, key, 'GET', `${RULESETS}/${hit.ruleset_id}`)).status, 404);
    }
    for (const key of [bob, s.adminKey]) assert.equal((await api(s.url, key, 'GET', '/api/v3/ioc_stream')).body.data.length, 0);
    // Nor are notifications stored for the system account, where no API would show them.
    const db = new Database(s.config.databaseUrl.slice('sqlite:'.length), { readonly: true });
    try {
      assert.deepEqual(db.prepare('select owner_id, count(*) as n from hunting_notifications group by owner_id').all(), [{ owner_id: 2, n: 2 }]);
    } finally {
      db.close();
    }

    // Alice's Livehunt is unaffected: one notification per file, from her rule; the OpenCTI
    // connector's filter now takes the file a community rule matched, and skips the other.
    const stream = await api(s.url, alice, 'GET', `/api/v3/ioc_stream?filter=${encodeURIComponent('source_type:hunting_ruleset')}&descriptors_only=false`);
    assert.equal(stream.status, 200, JSON.stringify(stream.body));
    assert.equal(stream.body.data.length, 2);
    assert.deepEqual(stream.body.data.map((n: any) => n.context_attributes.hunting_info.rule_name), ['Alice_Any', 'Alice_Any']);
    const byId = new Map(stream.body.data.map((n: any) => [n.id, n]));
    assert.deepEqual(openCtiTakes(byId.get(evil.id)), { takes: true, score: 100 });
    assert.deepEqual(openCtiTakes(byId.get(clean.id)), { takes: false });
  });

  it('re-importing refreshes: changed files updated, removed ones disabled, new ones added', async () => {
    await writeTree(rules, {
      'apt/evil.yar': EVIL.replace('Evil_Marker', 'Evil_Marker_v2').replace('TRAWL-COMMUNITY-EVIL', 'TRAWL-COMMUNITY-EVIL2'),
      'misc/other.yara': null,
      'new.yar': 'rule New_Marker { strings: $m = "TRAWL-COMMUNITY-NEW" condition: $m }\n',
    });
    const again = await trawl('rules', 'import', rules);
    assert.equal(again.code, 0, again.err);
    assert.equal(again.out, 'added 1, updated 1, unchanged 0, enabled 0, disabled 1, failed 1\n');
    assert.match(again.err, /disabled misc\/other\.yara/);

    const v2 = await upload(bob, sample('TRAWL-COMMUNITY-EVIL2'));
    assert.deepEqual(v2.attributes.crowdsourced_yara_results.map((r: any) => r.rule_name), ['Evil_Marker_v2']);
    const fresh = await upload(bob, sample('TRAWL-COMMUNITY-NEW'));
    assert.equal(fresh.attributes.last_analysis_results['Trawl-YARA'].result, 'New_Marker');
    const removed = await upload(bob, sample('TRAWL-COMMUNITY-OTHER'));
    assert.equal(removed.attributes.last_analysis_results['Trawl-YARA'].category, 'undetected');

    const unchanged = await trawl('rules', 'import', rules);
    assert.equal(unchanged.out, 'added 0, updated 0, unchanged 2, enabled 0, disabled 0, failed 1\n');
  });

  it('imports a .tar.gz or .zip over HTTP as a collection of its own, and refuses plain http elsewhere', async () => {
    const work = await mkdtemp(join(tmpdir(), 'trawl-community-archive-'));
    await writeTree(join(work, 'tree'), { 'sig/archived.yar': 'rule Archived_Marker { strings: $m = "TRAWL-COMMUNITY-ARCHIVED" condition: $m }\n' });
    execFileSync('tar', ['-czf', join(work, 'rules.tar.gz'), '-C', join(work, 'tree'), '.']);
    execFileSync('zip', ['-qr', join(work, 'rules.zip'), '.'], { cwd: join(work, 'tree') });
    await mkdir(join(work, 'linked'));
    await symlink('/etc', join(work, 'linked', 'out'));
    execFileSync('tar', ['-czf', join(work, 'linked.tar.gz'), '-C', join(work, 'linked'), '.']);
    await writeFile(join(work, 'corrupt.tar.gz'), Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), randomBytes(200)]));
    const server: Server = createServer((req, res) => {
      try {
        res.end(readFileSync(join(work, req.url!.slice(1))));
      } catch {
        res.statusCode = 404;
        res.end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const tgz = await trawl('rules', 'import', `${base}/rules.tar.gz`);
      assert.equal(tgz.code, 0, tgz.err);
      assert.equal(tgz.out, 'added 1, updated 0, unchanged 0, enabled 0, disabled 0, failed 0\n');
      const zip = await trawl('rules', 'import', `${base}/rules.zip`, '--source', 'https://example.org/community-rules');
      assert.equal(zip.code, 0, zip.err);
      assert.equal(zip.out, 'added 1, updated 0, unchanged 0, enabled 0, disabled 0, failed 0\n');
      assert.equal((await trawl('rules', 'import', `${base}/missing.zip`)).code, 1);
      // Refused, saying why: links (a later entry could be written through one), anything else.
      const linked = await trawl('rules', 'import', `${base}/linked.tar.gz`);
      assert.equal(linked.code, 1);
      assert.match(linked.err, /holds links/);
      const notArchive = await trawl('rules', 'import', `${base}/tree/sig/archived.yar`);
      assert.equal(notArchive.code, 1);
      assert.match(notArchive.err, /neither a \.zip nor a \.tar\.gz/);
      const corrupt = await trawl('rules', 'import', `${base}/corrupt.tar.gz`);
      assert.equal(corrupt.code, 1);
      assert.match(corrupt.err, /could not unpack/);

      const f = await upload(bob, sample('TRAWL-COMMUNITY-ARCHIVED'));
      assert.deepEqual(f.attributes.crowdsourced_yara_results.map((r: any) => r.source).sort(), [`${base}/rules.tar.gz`, 'https://example.org/community-rules']);
      // The folder's collection was left as it was.
      assert.equal((await upload(bob, sample('TRAWL-COMMUNITY-NEW'))).attributes.last_analysis_results['Trawl-YARA'].result, 'New_Marker');
    } finally {
      server.close();
      await rm(work, { recursive: true, force: true });
    }
    const refused = await trawl('rules', 'import', 'http://example.com/rules.zip');
    assert.equal(refused.code, 1);
    assert.match(refused.err, /https/);
  });
});
