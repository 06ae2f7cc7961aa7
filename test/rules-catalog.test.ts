// The rules catalog on a real SQLite store and the real compile threads: shards at startup, the
// delta after changes, which matches count, the background rebuild that folds the delta back into
// the shards it touched, and quarantine.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { Matcher } from '../src/hunting/scan/matcher.js';
import { RuleCompiler } from '../src/hunting/engine/rule-compiler.js';
import { RulesCatalog, type RulesSnapshot } from '../src/hunting/scan/rules-catalog.js';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';

const rule = (name: string, marker: string) => `rule ${name} { strings: $a = "${marker}" condition: $a }`;

/** An enabled ruleset of one rule `name` matching `marker`, as the API would store it. */
const addRuleset = (store: Store, name: string, marker: string, ownerId = 1) => store.createRuleset({
  ownerId, name, rules: rule(name, marker), enabled: true, limit: 100, notificationEmails: [],
  matchObjectType: 'file', tags: [], ruleNames: [name], creationDate: 1, modificationDate: 1,
});

/** Rule names whose matches count when scanning `text` with the snapshot's sets. */
const countedHits = (matcher: Matcher, snap: RulesSnapshot, text: string) =>
  matcher.scan(Buffer.from(text), { artifacts: [...snap.scan], timeoutMs: 5000, maxBytes: 1e6 }).matches.filter((m) => snap.accepts(m)).map((m) => m.rule).sort();

/** Closes a test's catalog, compile threads and store, and removes its folder. */
async function closeAll(catalog: RulesCatalog, compiler: RuleCompiler, store: Store, dir: string): Promise<void> {
  await catalog.close();
  await compiler.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

describe('rules catalog', () => {
  let dir: string;
  let store: Store;
  let compiler: RuleCompiler;
  let catalog: RulesCatalog;
  const ids: number[] = [];
  const matcher = new Matcher();

  const hits = (snap: RulesSnapshot, text: string) => countedHits(matcher, snap, text);
  const keys = (snap: RulesSnapshot) => snap.artifacts.map((a) => a.key).sort();
  const rebuilt = async () => {
    const until = Date.now() + 20_000;
    for (;;) {
      const snap = await catalog.snapshot();
      if (!snap.artifacts.some((a) => a.key.startsWith('delta'))) return snap;
      if (Date.now() > until) throw new Error('the delta was never folded back');
      await new Promise((r) => setTimeout(r, 50));
    }
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-catalog-'));
    store = await openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    for (let i = 0; i < 5; i++) ids.push((await addRuleset(store, `rule${i}`, `MARK-${i}`)).id);
    compiler = new RuleCompiler();
    catalog = new RulesCatalog(store, compiler, { shardSize: 2, rebuildDelayMs: 50, maxDelta: 64 }, pino({ level: 'silent' }));
  });
  after(async () => closeAll(catalog, compiler, store, dir));

  it('compiles shards at startup, each ruleset in its own namespace', async () => {
    const snap = await catalog.snapshot();
    assert.deepEqual(keys(snap), ['shard:0', 'shard:1', 'shard:2']);
    assert.deepEqual(hits(snap, 'MARK-0 MARK-3 MARK-4'), ['rule0', 'rule3', 'rule4']);
    assert.deepEqual(hits(snap, 'nothing'), []);
  });

  it('applies a change through the delta at once, then folds it back into its shard', async () => {
    await store.updateRuleset(ids[1]!, { rules: rule('rule1b', 'MARK-1B') });
    let snap = await catalog.snapshot();
    assert.ok(keys(snap).some((k) => k.startsWith('delta:')));
    assert.deepEqual(hits(snap, 'MARK-1 MARK-1B'), ['rule1b'], 'the old version in its shard no longer counts');
    snap = await rebuilt();
    assert.deepEqual(keys(snap), ['shard:0', 'shard:1', 'shard:2']);
    assert.deepEqual(hits(snap, 'MARK-1 MARK-1B'), ['rule1b']);
  });

  it('drops disabled and deleted rulesets at once, and places new ones', async () => {
    await store.updateRuleset(ids[2]!, { enabled: false });
    await store.deleteRuleset(ids[3]!);
    const created = await addRuleset(store, 'rule_new', 'MARK-NEW', 2);
    let snap = await catalog.snapshot();
    assert.deepEqual(hits(snap, 'MARK-2 MARK-3 MARK-NEW MARK-0'), ['rule0', 'rule_new']);
    snap = await rebuilt();
    assert.deepEqual(hits(snap, 'MARK-2 MARK-3 MARK-NEW MARK-0'), ['rule0', 'rule_new']);
    const members = snap.artifacts.flatMap((a) => a.members.map(([id]) => id)).sort((a, b) => a - b);
    assert.deepEqual(members, [ids[0]!, ids[1]!, ids[4]!, created.id].sort((a, b) => a - b), 'shards hold exactly the enabled rulesets');
  });

  it('scans a quarantined ruleset alone and takes its matches from there only', async () => {
    const gen = (await store.getRuleset(ids[4]!))!.rulesGeneration;
    await catalog.quarantine(ids[4]!, gen);
    let snap = await catalog.snapshot();
    assert.ok(keys(snap).includes(`quarantine:${ids[4]}`));
    const scan = matcher.scan(Buffer.from('MARK-4'), { artifacts: [...snap.scan], timeoutMs: 5000, maxBytes: 1e6 });
    assert.deepEqual(scan.matches.filter((m) => snap.accepts(m)).map((m) => m.artifact), [`quarantine:${ids[4]}`]);
    assert.equal(scan.matches.length, 2, 'its old copy in the shard still matches, and does not count');
    // Its shard is recompiled without it, so its rules stop slowing the shard's scans.
    const until = Date.now() + 20_000;
    while ((await catalog.snapshot()).artifacts.some((a) => a.key.startsWith('shard') && a.members.some(([id]) => id === ids[4]))) {
      assert.ok(Date.now() < until, 'the quarantined ruleset stayed in its shard');
      await new Promise((r) => setTimeout(r, 50));
    }
    snap = await catalog.snapshot();
    assert.equal(matcher.scan(Buffer.from('MARK-4'), { artifacts: [...snap.scan], timeoutMs: 5000, maxBytes: 1e6 }).matches.length, 1);
    // Changing its rules ends the quarantine: it goes back through the delta.
    await store.updateRuleset(ids[4]!, { rules: rule('rule4b', 'MARK-4B') });
    snap = await catalog.snapshot();
    assert.ok(!keys(snap).some((k) => k.startsWith('quarantine')));
    assert.deepEqual(hits(snap, 'MARK-4 MARK-4B'), ['rule4b']);
  });
});

describe('rules catalog during a burst of changes', () => {
  let dir: string;
  let store: Store;
  let compiler: RuleCompiler;
  let catalog: RulesCatalog;
  const published: RulesSnapshot[] = [];
  const matcher = new Matcher();
  const create = (i: number) => addRuleset(store, `burst${i}`, `BURST-${i}`);
  const deltas = (snap: RulesSnapshot) => snap.artifacts.filter((a) => a.key.startsWith('delta:'));
  const hits = (snap: RulesSnapshot, text: string) => countedHits(matcher, snap, text);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-catalog-burst-'));
    store = await openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    compiler = new RuleCompiler();
    // No shard rebuild during the test: what is checked is how the deltas grow and merge.
    catalog = new RulesCatalog(store, compiler, { shardSize: 100, rebuildDelayMs: 600_000, maxDelta: 1000, maxDeltas: 3, onPublish: (s) => void published.push(s) }, pino({ level: 'silent' }));
    await catalog.snapshot();
  });
  after(async () => closeAll(catalog, compiler, store, dir));

  it('compiles only what changed since the last delta, keeping the earlier deltas as they are', async () => {
    await create(0);
    const first = deltas(await catalog.snapshot());
    await create(1);
    await create(2);
    const second = deltas(await catalog.snapshot());
    assert.equal(second.length, 2);
    assert.equal(second[0]!.digest, first[0]!.digest, 'the first delta is not compiled again');
    assert.equal(second[1]!.members.length, 2, 'the new delta holds the two new rulesets only');
    assert.deepEqual(hits(await catalog.snapshot(), 'BURST-0 BURST-1 BURST-2'), ['burst0', 'burst1', 'burst2']);
  });

  it('a ruleset changed again counts from its newest delta only, and a delta left holding nothing goes', async () => {
    const [r0] = await store.enabledRulesetSources();
    await store.updateRuleset(r0!.id, { rules: rule('burst0b', 'BURST-0B') });
    const snap = await catalog.snapshot();
    assert.ok(!deltas(snap).some((d) => d.members.some(([id, g]) => id === r0!.id && g === r0!.generation)), 'the delta holding only the old version is gone');
    assert.deepEqual(hits(snap, 'BURST-0 BURST-0B BURST-1'), ['burst0b', 'burst1']);
  });

  it('merges the deltas into one in the background once there are too many, and each match counts once', async () => {
    for (let i = 3; i < 6; i++) {
      await create(i);
      await catalog.snapshot();
    }
    const until = Date.now() + 20_000;
    let snap = await catalog.snapshot();
    while (!deltas(snap).some((d) => d.members.length >= 5)) {
      assert.ok(Date.now() < until, `still ${deltas(snap).length} deltas, none merged`);
      await new Promise((r) => setTimeout(r, 50));
      snap = await catalog.snapshot();
    }
    assert.ok(deltas(snap).length <= 3, `${deltas(snap).length} deltas after the merge`);
    const text = 'BURST-0B BURST-1 BURST-2 BURST-3 BURST-4 BURST-5';
    assert.deepEqual(hits(snap, text), ['burst0b', 'burst1', 'burst2', 'burst3', 'burst4', 'burst5']);
  });

  it('with watch, compiles a change without waiting for a scan to ask', async () => {
    catalog.watch(50);
    const before = published.length;
    await create(6);
    const until = Date.now() + 20_000;
    while (!published.slice(before).some((s) => s.artifacts.some((a) => a.key.startsWith('delta:') && a.members.length === 1))) {
      assert.ok(Date.now() < until, 'the change was never compiled');
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(hits(published.at(-1)!, 'BURST-6'), ['burst6']);
  });
});

describe('rules catalog: what the scanning threads have loaded', () => {
  let dir: string;
  let store: Store;
  let compiler: RuleCompiler;
  let catalog: RulesCatalog;
  /** Loads the threads have not finished: each publication waits until the test lets it go. */
  const loading: (() => void)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-catalog-ready-'));
    store = await openStore(`sqlite:${join(dir, 'db.sqlite')}`);
    compiler = new RuleCompiler();
    catalog = new RulesCatalog(store, compiler, {
      shardSize: 100, rebuildDelayMs: 600_000, maxDelta: 1000,
      onPublish: () => new Promise<void>((r) => loading.push(r)),
    }, pino({ level: 'silent' }));
    await catalog.snapshot();
    for (const done of loading.splice(0)) done();
  });
  after(async () => closeAll(catalog, compiler, store, dir));

  it('has late scans wait until the threads loaded the compile they need, and behind analyses scan with what is loaded', async () => {
    const a = await addRuleset(store, 'loaded_a', 'MARK-A');
    const withA = await catalog.snapshot();
    for (const done of loading.splice(0)) done();
    const generationA = withA.generation;
    await catalog.snapshotAt(generationA); // loaded
    await addRuleset(store, 'unloaded_b', 'MARK-B');
    const withB = await catalog.snapshot(); // compiled and published, not yet loaded
    assert.ok(withB.generation > generationA);

    // An analysis that gives up waiting takes the snapshot the threads have, and says it is behind.
    await addRuleset(store, 'uncompiled_c', 'MARK-C');
    const { snap, behind } = await catalog.snapshotWithin(0);
    assert.equal(behind, true);
    assert.equal(snap.generation, generationA, 'the loaded snapshot, not the one the threads would first have to load');
    assert.ok(snap.artifacts.some((x) => x.members.some(([id]) => id === a.id)));

    // A late scan needing B waits for the threads to load it.
    const got: { snap?: RulesSnapshot } = {};
    const late = catalog.snapshotAt(withB.generation).then((x) => (got.snap = x));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(got.snap, undefined, 'waiting for the threads');
    while (!got.snap) {
      for (const done of loading.splice(0)) done();
      await new Promise((r) => setTimeout(r, 20));
    }
    const loaded = await late;
    assert.ok(loaded.generation >= withB.generation);
  });
});
