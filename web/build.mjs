// Bundles the web app (web/src/main.ts and web/src/styles.css) into dist/web: assets named after
// their content's hash (served as immutable), index.html naming them, the YARA editor split into a
// chunk loaded on its page. Run by `make build`.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });

const result = await build({
  entryPoints: { app: join(here, 'src', 'main.ts'), style: join(here, 'src', 'styles.css') },
  bundle: true,
  minify: true,
  format: 'esm',
  // The editor (CodeMirror, most of the bundle) is a chunk of its own, loaded by the ruleset page.
  splitting: true,
  chunkNames: 'chunk-[hash]',
  target: ['chrome110', 'firefox115', 'safari16'],
  outdir: join(out, 'assets'),
  entryNames: '[name]-[hash]',
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs);
const js = outputs.find((p) => basename(p).startsWith('app-') && p.endsWith('.js'));
const css = outputs.find((p) => basename(p).startsWith('style-') && p.endsWith('.css'));
// The chunks the app imports statically, fetched with it rather than after it is parsed.
const preload = result.metafile.outputs[js].imports
  .filter((i) => i.kind === 'import-statement')
  .map((i) => `<link rel="modulepreload" href="/assets/${basename(i.path)}">`)
  .join('\n');
const html = readFileSync(join(here, 'index.html'), 'utf8')
  .replace('%APP_JS%', `/assets/${basename(js)}`)
  .replace('%APP_CSS%', `/assets/${basename(css)}`)
  .replace('%PRELOAD%', preload);
writeFileSync(join(out, 'index.html'), html);
