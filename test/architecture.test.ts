// Guards the layout: no import cycles, data flows forward through the folders, and storage
// adapters are chosen only by the composition root.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** module (relative to src, without extension) -> modules it imports at load time. */
const graph = new Map<string, string[]>();
/** The same with type-only imports and re-exports too: what a module depends on at all. */
const allImports = new Map<string, string[]>();
for (const file of sources(src)) {
  const text = readFileSync(file, 'utf8');
  const resolved = (re: RegExp) => [...text.matchAll(re)].map((m) => relative(src, resolve(dirname(file), m[1]!)).replace(/\.js$/, ''));
  const module = relative(src, file).replace(/\.ts$/, '');
  graph.set(module, resolved(/^import\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)'/gm));
  allImports.set(module, resolved(/^(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'/gm));
}

/**
 * The floors of the journey, lowest first: a module may import from its own floor or below, never
 * from above. Folders of one floor must not import each other in a cycle.
 */
const FLOORS: readonly (readonly string[])[] = [
  // metrics: counters every stage increments, on nothing but prom-client (like log on pino).
  ['model', 'config', 'log', 'metrics'],
  // Infrastructure: the SQLite store writes from a thread of its own.
  ['threads'],
  ['store'],
  // content-index: trigram sets of files, segments, and plans of rules and searches over them.
  ['analysis', 'extraction', 'hunting', 'users', 'content-index'],
  // version.ts reports the engine's version; deployment/ is how processes of one deployment
  // find each other (registry, blob store marker).
  ['jobs', 'version', 'deployment'],
  // search: Intelligence search over stored files (its query grammar, orders, cursors).
  ['stream', 'delivery', 'intake', 'search'],
  ['api'],
  ['cli', 'main'],
];
/** The folder (or top-level module) a module belongs to. */
const roomOf = (m: string) => m.split('/')[0]!;
const floorOf = (m: string) => FLOORS.findIndex((f) => f.includes(roomOf(m)));


describe('architecture', () => {
  it('has no import cycles', () => {
    const state = new Map<string, 'visiting' | 'done'>();
    const visit = (m: string, path: string[]) => {
      if (state.get(m) === 'done') return;
      assert.notEqual(state.get(m), 'visiting', `import cycle: ${[...path, m].join(' -> ')}`);
      state.set(m, 'visiting');
      for (const d of graph.get(m) ?? []) visit(d, [...path, m]);
      state.set(m, 'done');
    };
    for (const m of graph.keys()) visit(m, []);
  });

  it('keeps storage adapters behind the composition root', () => {
    assert.ok(graph.get('main')?.includes('store/open-store'), 'the import scan sees real imports');
    for (const [m, deps] of graph) {
      for (const d of deps) {
        if (/^store\/(sqlite|postgres)\//.test(d)) assert.ok(m.startsWith('store/'), `${m} imports the adapter ${d}`);
        // A thread's entry module is the composition root of that thread.
        if (d === 'store/open-store' || d === 'store/blobs/fs-blob-store') assert.ok(['main', 'cli/user', 'cli/rules', 'cli/group', 'cli/jobs', 'cli/status', 'cli/migrate', 'stream/stream-page-thread'].includes(m), `${m} imports ${d}`);
      }
    }
  });

  it('keeps every module on a floor, importing (types too) only from its floor or below', () => {
    const wrong: string[] = [];
    for (const [m, deps] of allImports) {
      assert.notEqual(floorOf(m), -1, `${m} is in no floor: add its folder to FLOORS`);
      for (const d of deps) if (floorOf(d) > floorOf(m)) wrong.push(`${m} -> ${d}`);
    }
    assert.deepEqual(wrong, [], 'imports running up the floors');
  });

  it('has no cycle between the folders of a floor', () => {
    const rooms = new Map<string, Set<string>>();
    for (const [m, deps] of allImports) {
      for (const d of deps) if (roomOf(d) !== roomOf(m)) (rooms.get(roomOf(m)) ?? rooms.set(roomOf(m), new Set()).get(roomOf(m))!).add(roomOf(d));
    }
    for (const [a, to] of rooms) for (const b of to) assert.ok(!rooms.get(b)?.has(a), `${a} and ${b} import each other`);
  });

  it('lets data flow forward: the core never imports the API or the CLI', () => {
    for (const [m, deps] of graph) {
      if (/^(api|cli)\//.test(m) || m === 'main') continue;
      for (const d of deps) assert.ok(!/^(api|cli)\//.test(d) && d !== 'main', `${m} imports ${d}`);
    }
  });
});
