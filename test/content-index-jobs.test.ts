// The content index at work, end to end: files indexed at analysis (subfiles too), segments made
// and merged by the upkeep job, files stored before the index caught up with, and Retrohunt jobs
// answered through the index alone (retrohuntVerifyIndex off, unlike the rest of the suite) with
// exactly the matches YARA-X gives over every stored file's bytes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readdirSync, readFileSync, statSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { loadConfig } from '../src/config.js';
import { loadYaraX } from '../src/hunting/engine/yara-x.js';
import { startService, type Service } from '../src/main.js';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const base = '/api/v3/intelligence/retrohunt_jobs';

/** Real files of this machine: license texts and small programs, up to `n` of each. */
function machineFiles(n: number): { name: string; content: Buffer }[] {
  const pick = (dir: string, max: number) => readdirSync(dir).sort()
    .map((f) => join(dir, f))
    .filter((p) => { try { const st = statSync(p); return st.isFile() && st.size > 0 && st.size < 300_000; } catch { return false; } })
    .slice(0, max)
    .map((p) => ({ name: p.split('/').pop()!, content: readFileSync(p) }));
  return [...pick('/usr/share/common-licenses', n), ...pick('/usr/bin', n)];
}

/** Marked files made to match the rules below in their forms (plain, wide, mixed case), and a zip of two. */
function markedFiles(wave: number): { name: string; content: Buffer }[] {
  const members = { [`w${wave}/inner.txt`]: `zip member of wave ${wave}: TRIGRAM_NEEDLE_42`, [`w${wave}/plain.txt`]: `plain member ${wave}` };
  return [
    { name: `plain${wave}.txt`, content: Buffer.from(`wave ${wave} holds TRIGRAM_NEEDLE_42 once`) },
    { name: `wide${wave}.bin`, content: Buffer.concat([Buffer.from([0, 1, 2, wave]), Buffer.from('WideNeedle', 'utf16le')]) },
    { name: `case${wave}.txt`, content: Buffer.from(`wave ${wave}: cAsE_NeEdLe here`) },
    { name: `zip${wave}.zip`, content: makeZip(members) },
  ];
}

const RULES = [
  'rule needle { strings: $a = "TRIGRAM_NEEDLE_42" condition: $a }',
  'rule needle_hex { strings: $a = { 54 52 49 47 52 41 4D ?? 4E 45 [1-3] 45 5F 34 32 } condition: $a }',
  'rule wide_needle { strings: $a = "WideNeedle" wide condition: $a }',
  'rule any_case { strings: $a = "case_needle" nocase condition: $a }',
  'rule gpl { strings: $a = "GNU General Public License" $b = "Free Software Foundation" condition: $a and $b }',
  'rule either { strings: $a = "Artistic License" $b = "zip member of wave 3" condition: any of them }',
  // Not bounded by any literal: every file is scanned.
  'rule elf { condition: uint32(0) == 0x464c457f and filesize < 100KB }',
];

/** Matching sha256s of each rule over every stored file's bytes, as YARA-X gives them. */
function expected(contents: Map<string, Buffer>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const source of RULES) {
    const rules = loadYaraX().compile(source);
    out.set(source, [...contents].filter(([, c]) => rules.scan(c).length > 0).map(([h]) => h).sort());
  }
  return out;
}

async function upload(url: string, key: string, files: { name: string; content: Buffer }[], contents: Map<string, Buffer>): Promise<void> {
  for (const f of files) {
    const r = await api(url, key, 'POST', '/api/v3/files', fileForm(f.content, f.name));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitForAnalysis(url, key, r.body.data.id, 30_000);
    contents.set(sha256(f.content), f.content);
    if (f.name.endsWith('.zip')) {
      const wave = /zip(\d+)/.exec(f.name)![1];
      for (const m of [`zip member of wave ${wave}: TRIGRAM_NEEDLE_42`, `plain member ${wave}`]) contents.set(sha256(m), Buffer.from(m));
    }
  }
}

/** Runs each rule as a job; checks its matches, and that bounded rules scanned fewer files than stored. */
async function checkJobs(url: string, key: string, s: Pick<Service, 'store'>, contents: Map<string, Buffer>): Promise<void> {
  const want = expected(contents);
  const stored = await s.store.retrohuntCorpusSize({ start: 0, end: Math.floor(Date.now() / 1000) }, 'main');
  assert.equal(stored, contents.size, 'every upload and zip member is a stored file');
  for (const rules of RULES) {
    const r = await api(url, key, 'POST', base, { data: { type: 'retrohunt_job', attributes: { rules } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const id = r.body.data.id;
    const done = await pollUntil(`job ${id}`, async () => (await api(url, key, 'GET', `${base}/${id}`)).body.data.attributes, (a) => a.status === 'finished' || a.status === 'aborted', 30_000, 50);
    assert.equal(done.status, 'finished', JSON.stringify(done));
    const m = await api(url, key, 'GET', `${base}/${id}/matching_files?limit=40`);
    assert.deepEqual(m.body.data.map((i: any) => i.id).sort(), want.get(rules), rules);
    assert.equal(done.progress, 100);
    const scanned = Number(done.scanned_bytes);
    const all = [...contents.values()].reduce((n, c) => n + c.length, 0);
    if (rules.includes('uint32(0)')) assert.equal(scanned, all, 'an unbounded rule scans every file');
    else assert.ok(scanned < all, `${rules}: scanned ${scanned} of ${all} bytes`);
    // A rare literal: little more than the files holding it is read.
    if (rules.startsWith('rule needle {')) assert.ok(scanned < all / 10, `scanned ${scanned} of ${all} bytes`);
  }
}

describe('content index at work', () => {
  it('indexes at analysis, makes and merges segments, and answers jobs with exactly the brute-force matches', async () => {
    const s: TestService = await startTestService({ retrohuntVerifyIndex: 'false', contentIndexInterval: '1', contentIndexGrace: '0' });
    try {
      const key = await newUser(s, 'hunter');
      const contents = new Map<string, Buffer>();
      const real = machineFiles(10);
      // Five waves, each turned into a segment before the next: four level-0 segments merge.
      for (let wave = 0; wave < 5; wave++) {
        await upload(s.url, key, [...real.slice(wave * 4, wave * 4 + 4), ...markedFiles(wave)], contents);
        await pollUntil('pending files in a segment', () => s.store.countPendingGrams(), (p) => p.files === 0, 20_000, 100);
      }
      const segments = await pollUntil('a merge', () => s.store.listIndexSegments(), (l) => l.some((x) => x.level === 1), 20_000, 100);
      assert.equal(segments.reduce((n, x) => n + x.files, 0), contents.size, 'every stored file in exactly one live segment');
      assert.deepEqual(await s.store.listUnindexedFiles(null, 10), [], 'no file left out of the index');
      // The four merged segments are retired, then deleted (grace 0): rows and blobs.
      await pollUntil('retired segments deleted', () => s.store.listIndexSegments(Math.floor(Date.now() / 1000) + 1), (l) => l.length === 0, 20_000, 100);
      const blobs = readdirSync(join(s.dir, 'blobs'), { recursive: true }).map(String).filter((p) => /[0-9a-f]{64}$/.test(p)).map((p) => p.slice(-64));
      const live = (await s.store.listIndexSegments()).map((x) => x.blob).sort();
      assert.ok(live.includes(segments.find((x) => x.level === 1)!.blob));
      assert.deepEqual(blobs.filter((b) => !contents.has(b)).sort(), live, 'the blob store holds the files and the live segments, nothing else');
      await checkJobs(s.url, key, s, contents);
      // Files indexed and not yet in a segment answer too.
      await upload(s.url, key, markedFiles(9), contents);
      await checkJobs(s.url, key, s, contents);
    } finally {
      await s.stop();
    }
  });

  it('catches up with files stored while the index was off, which jobs scan meanwhile', async () => {
    const first = await startTestService({ contentIndex: 'false', retrohuntVerifyIndex: 'false' });
    let second: Service | null = null;
    try {
      const key = await newUser(first, 'hunter');
      const contents = new Map<string, Buffer>();
      await upload(first.url, key, [...machineFiles(3), ...markedFiles(0), ...markedFiles(1)], contents);
      await first.close();
      second = await startService(loadConfig({ env: {}, flags: { dataDir: first.dir, port: '0', logLevel: 'silent', workers: '2', contentIndex: 'true', contentIndexInterval: '1', retrohuntVerifyIndex: 'false' } }));
      const s = second;
      await pollUntil('older files indexed', () => s.store.listUnindexedFiles(null, 10), (l) => l.length === 0, 30_000, 100);
      await pollUntil('pending files in a segment', () => s.store.countPendingGrams(), (p) => p.files === 0, 20_000, 100);
      await checkJobs(s.url!, key, s, contents);
    } finally {
      await second?.close();
      await rm(first.dir, { recursive: true, force: true });
    }
  });

  it('a segment unreadable (an older format, cut short): jobs scan every file, searches answer 503, and the index starts over', async () => {
    const first = await startTestService({ retrohuntVerifyIndex: 'false', contentIndexInterval: '1' });
    const restart = (interval: string) => startService(loadConfig({ env: {}, flags: { dataDir: first.dir, port: '0', logLevel: 'silent', workers: '2', contentIndexInterval: interval, retrohuntVerifyIndex: 'false' } }));
    let later: Service | null = null;
    try {
      const key = await newUser(first, 'hunter');
      const contents = new Map<string, Buffer>();
      await upload(first.url, key, [...machineFiles(3), ...markedFiles(0), ...markedFiles(1)], contents);
      await pollUntil('pending files in a segment', () => first.store.countPendingGrams(), (p) => p.files === 0, 20_000, 100);
      await first.close();
      // What an upgrade to a new segment format would find: the old magic, in every live segment
      // (blobs are files named by their sha256). Read once the process is gone: no merge after.
      const db = new Database(join(first.dir, 'trawl.db'));
      const corrupted = (db.prepare('select blob from content_index_segments where retired_at is null').all() as { blob: string }[]).map((r) => r.blob);
      assert.ok(corrupted.length > 0);
      const paths = readdirSync(join(first.dir, 'blobs'), { recursive: true }).map(String);
      for (const blob of corrupted) {
        const fd = openSync(join(first.dir, 'blobs', paths.find((p) => p.endsWith(blob))!), 'r+');
        writeSync(fd, Buffer.from('TRWLIX01'), 0, 8, 0);
        closeSync(fd);
      }
      // An upkeep the first process queued and did not run would run at once at the restart.
      db.prepare("delete from jobs where kind = 'content-index'").run();
      db.close();
      const needle = RULES[0]!;
      const want = expected(contents).get(needle);
      const all = [...contents.values()].reduce((n, c) => n + c.length, 0);
      const job = async (url: string) => {
        const r = await api(url, key, 'POST', base, { data: { type: 'retrohunt_job', attributes: { rules: needle } } });
        const done = await pollUntil('job', async () => (await api(url, key, 'GET', `${base}/${r.body.data.id}`)).body.data.attributes, (a) => a.status === 'finished' || a.status === 'aborted', 30_000, 50);
        assert.equal(done.status, 'finished', JSON.stringify(done));
        assert.deepEqual((await api(url, key, 'GET', `${base}/${r.body.data.id}/matching_files?limit=40`)).body.data.map((i: any) => i.id).sort(), want);
        return Number(done.scanned_bytes);
      };
      const search = (url: string) => api(url, key, 'GET', `/api/v3/intelligence/search?query=${encodeURIComponent('content:"TRIGRAM_NEEDLE_42"')}&limit=40`);
      // No upkeep yet (its first run is an interval after the start): the index is found unusable by its readers.
      later = await restart('3600');
      assert.equal(await job(later.url!), all, 'the job scanned every file');
      const refused = await search(later.url!);
      assert.equal(refused.status, 503, JSON.stringify(refused.body));
      assert.equal(refused.body.error.code, 'TransientError');
      assert.match(refused.body.error.message, /content index cannot answer now/);
      await later.close();
      // With its upkeep, the index starts over from the stored files, and answers again.
      later = await restart('1');
      const s = later;
      await pollUntil('the index rebuilt', async () => ({ segments: await s.store.listIndexSegments(), unindexed: await s.store.listUnindexedFiles(null, 10), pending: await s.store.countPendingGrams() }),
        (x) => x.unindexed.length === 0 && x.pending.files === 0 && x.segments.length > 0 && x.segments.every((g) => !corrupted.includes(g.blob)), 30_000, 100);
      const found = await search(s.url!);
      assert.equal(found.status, 200, JSON.stringify(found.body));
      assert.deepEqual(found.body.data.map((f: any) => f.id).sort(), want);
      assert.ok((await job(s.url!)) < all / 10, 'the job went through the index again');
    } finally {
      await later?.close();
      await rm(first.dir, { recursive: true, force: true });
    }
  });
});
