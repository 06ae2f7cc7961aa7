// Typed loader of the YARA-X native binding (@litko/yara-x-linux-x64-gnu 0.7.2, napi-rs). The
// package ships no types: these declare exactly the parts Trawl uses; test/yara-x-api.test.ts pins them.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** The npm package that carries the native binary (exact version pinned in package.json). */
export const YARA_X_PACKAGE = '@litko/yara-x-linux-x64-gnu';
export const YARA_X_VERSION = '0.7.2';

/** Compiler options the binding accepts (subset used by Trawl). Options given to `compile` persist
 * on the instance: later `addRuleSources` calls compile under them too. */
export interface YaraCompilerOptions {
  /** Namespace of the source given to `compile` (default `"default"`). */
  namespace?: string;
  /** External variables and their defaults; their types are fixed by these values. */
  defineVariables?: Record<string, string | number | boolean>;
  /** Accept YARA 4 regex escapes that YARA-X refuses by default. */
  relaxedReSyntax?: boolean;
  /** Turn the `slow_pattern` warning into error E018. */
  errorOnSlowPattern?: boolean;
  /** Turn the `potentially_slow_loop` warning into error E034. */
  errorOnSlowLoop?: boolean;
  /** `false`: an `include` is error E044 and no file is read. */
  enableIncludes?: boolean;
}

/** A compiler error or warning. `message` is the engine's full rendered text, including
 * ` --> line:L:C` and the caret excerpt; 0.7.2 never fills `line`/`column`. */
export interface YaraDiagnostic {
  /** `E001`… for errors, `slow_pattern`, `invariant_expr`… for warnings. */
  code: string;
  message: string;
  line?: number;
  column?: number;
}

/** One match of one pattern. */
export interface YaraPatternMatch {
  /** Pattern identifier with its `$`, e.g. `$a`. */
  identifier: string;
  offset: number;
  length: number;
  /** Matched bytes decoded lossily as UTF-8: not usable for binary data. */
  data: string;
}

/** One matching rule. Matches of all patterns are in one flat list. */
export interface YaraRuleMatch {
  ruleIdentifier: string;
  namespace: string;
  meta: Record<string, string | number | boolean>;
  tags: string[];
  matches: YaraPatternMatch[];
}

/** A source and its namespace, for `addRuleSources`. */
export interface YaraRuleSource {
  source: string;
  namespace?: string;
}

/** Compiled rules plus their scanner. Not thread-safe: one per worker thread. */
export interface YaraRules {
  /** Compiles these sources together with everything already added (one pass). Throws an Error
   * whose message is `Compilation error (<code>): <rendered first error>`. A failed source stays
   * in the instance (every later add recompiles it and fails again): discard the instance. */
  addRuleSources(sources: YaraRuleSource[]): void;
  /** Synchronous scan on the calling thread. Throws `Error('Scan timed out')` (code `Cancelled`). */
  scan(data: Uint8Array, variables?: Record<string, string | number | boolean>): YaraRuleMatch[];
  /** Scan timeout in ms. The engine checks it once per second: effective resolution is 1 s. */
  setTimeout(timeoutMs: number): void;
  setMaxMatchesPerPattern(maxMatches: number): void;
  getWarnings(): YaraDiagnostic[];
  serialize(): Buffer;
}

/** The module's exports used by Trawl. */
export interface YaraXModule {
  create(): YaraRules;
  /** Compiles one source; throws like `addRuleSources`. */
  compile(source: string, options?: YaraCompilerOptions): YaraRules;
  /** Compiles without keeping the result; every error, not only the first. */
  validate(source: string, options?: YaraCompilerOptions): { errors: YaraDiagnostic[]; warnings: YaraDiagnostic[] };
  deserialize(data: Buffer): YaraRules;
}

/**
 * Scan variables as 0.7.2 can take them. It reads a string value that spells an integer or a
 * boolean ("42", "-1", "true") as that type, and then refuses the scan ("invalid type for
 * `filename`, expecting `string`, got `integer`"): such strings are left out, so those variables
 * keep their defaults for that scan instead of failing it.
 */
export function bindingSafeVariables(variables: Record<string, string | number | boolean>): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(variables)) if (typeof v !== 'string' || !/^([+-]?\d+|true|false)$/.test(v)) out[k] = v;
  return out;
}

let loaded: YaraXModule | undefined;
let engineVersion: string | undefined;

/**
 * The YARA-X release inside the native binary (e.g. `1.20.0`), read from the crate paths its
 * build left in it, since the binding has no version call; `unknown` when it cannot be read. Read
 * once per process (the binary is about 20 MB).
 */
export function yaraXEngineVersion(): string {
  if (engineVersion) return engineVersion;
  try {
    const require = createRequire(import.meta.url);
    const dir = require.resolve(`${YARA_X_PACKAGE}/package.json`).replace(/package\.json$/, '');
    const main = (require(`${YARA_X_PACKAGE}/package.json`) as { main?: string }).main ?? 'yara-x.linux-x64-gnu.node';
    const m = /[/\\]yara-x-(\d+\.\d+\.\d+)[/\\]src[/\\]/.exec(readFileSync(dir + main).toString('latin1'));
    engineVersion = m ? m[1]! : 'unknown';
  } catch {
    engineVersion = 'unknown';
  }
  return engineVersion;
}

/** Loads the native module once per thread. Throws an Error saying what to install when the
 * binary is missing or cannot load on this platform. */
export function loadYaraX(): YaraXModule {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let mod: unknown;
  try {
    mod = require(YARA_X_PACKAGE);
  } catch (err) {
    throw new Error(
      `YARA-X native module could not be loaded (${(err as Error).message.split('\n')[0]}): ` +
        `install it with \`npm install ${YARA_X_PACKAGE}@${YARA_X_VERSION}\` (Linux x86-64, glibc)`,
    );
  }
  const m = mod as Partial<YaraXModule>;
  for (const fn of ['create', 'compile', 'validate', 'deserialize'] as const) {
    if (typeof m[fn] !== 'function') {
      throw new Error(`${YARA_X_PACKAGE} lacks ${fn}(): install version ${YARA_X_VERSION}`);
    }
  }
  loaded = m as YaraXModule;
  return loaded;
}
