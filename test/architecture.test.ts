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
for (const file of sources(src)) {
  const text = readFileSync(file, 'utf8');
  const deps = [...text.matchAll(/^import\s+(?!type\b)[^'"]*?from\s+'(\.[^']+)'/gm)].map((m) =>
    relative(src, resolve(dirname(file), m[1]!)).replace(/\.js$/, ''),
  );
  graph.set(relative(src, file).replace(/\.ts$/, ''), deps);
}

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
        if (d === 'store/open-store' || d === 'store/blobs/fs-blob-store') assert.ok(['main', 'cli/user', 'stream/stream-page-thread'].includes(m), `${m} imports ${d}`);
      }
    }
  });

  it('lets data flow forward: the core never imports the API or the CLI', () => {
    for (const [m, deps] of graph) {
      if (/^(api|cli)\//.test(m) || m === 'main') continue;
      for (const d of deps) assert.ok(!/^(api|cli)\//.test(d) && d !== 'main', `${m} imports ${d}`);
    }
  });
});
