// What this Trawl is: its own version and the matching engine's, for `trawl --version`, the
// startup line and the logs (an engine upgrade changes what matches: docs/engine.md).
import { readFileSync } from 'node:fs';
import { YARA_X_PACKAGE, YARA_X_VERSION, yaraXEngineVersion } from './hunting/engine/yara-x.js';

let version: string | undefined;

/** Trawl's version, from its package.json. */
export function trawlVersion(): string {
  if (version) return version;
  // Compiled code lives in dist/src, sources in src: try both distances to package.json.
  for (const rel of ['../../package.json', '../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'trawl' && pkg.version) return (version = pkg.version);
    } catch {
      // not at this distance
    }
  }
  return (version = '0.0.0');
}

/** Trawl's version, the YARA-X release in the binary, and the binding that carries it. */
export function versions(): { trawl: string; engine: string; binding: string } {
  return { trawl: trawlVersion(), engine: `YARA-X ${yaraXEngineVersion()}`, binding: `${YARA_X_PACKAGE} ${YARA_X_VERSION}` };
}

/** `trawl 0.1.0 (YARA-X 1.20.0 through @litko/yara-x-linux-x64-gnu 0.7.2)`. */
export function versionLine(): string {
  const v = versions();
  return `trawl ${v.trawl} (${v.engine} through ${v.binding})`;
}
