// Validation of a hunting ruleset's YARA source before it is stored (spec 2.4): compiles it with the
// hunting options and refuses what the engine, VirusTotal or Trawl's limits refuse.
import { TrawlError, invalidArgument } from '../../model/errors.js';
import { diagnosticPosition, formatDiagnostic, huntingCompilerOptions } from '../engine/engine-options.js';
import type { YaraDiagnostic } from '../engine/yara-x.js';
import { includeLine, ruleDeclarations } from './rule-names.js';
import { loadYaraX } from '../engine/yara-x.js';

/** Default cap on a ruleset's source size, in UTF-8 bytes. */
export const DEFAULT_MAX_RULESET_BYTES = 1024 * 1024;

/**
 * YARA-X refuses `vt.metadata` outside VirusTotal with "supported only in rulesets matching
 * against files", which reads as nonsense to someone whose ruleset does match files.
 */
const VT_MODULE_HINT =
  'The vt module\'s fields (vt.metadata, vt.net) are VirusTotal\'s own data, which Trawl does not have. ' +
  'The external variables file_name, extension, file_type, new_file, submissions and tags hold the same facts ' +
  '(e.g. `new_file and file_type contains "pe"` for `vt.metadata.new_file and vt.metadata.file_type == vt.FileType.PE_EXE`).';

/** What a valid ruleset yields. */
export interface RulesetValidation {
  /** Rule names in source order (private and global rules included). */
  ruleNames: string[];
  /** The engine's warnings (e.g. `invariant_expr`), rendered with line and column. */
  warnings: string[];
}

/**
 * Validates a ruleset's YARA source. Throws `TrawlError('InvalidArgumentError')` for: empty or
 * whitespace-only source, source over `maxBytes` (checked before compiling), `include` directives,
 * compile errors (message with line and column and the engine's text), slow patterns, duplicate
 * rule names. Potentially slow loops are accepted with a warning. Compiling blocks the calling thread (milliseconds
 * for a typical ruleset; up to seconds near the size cap).
 */
export function validateRuleset(source: string, opts: { maxBytes?: number } = {}): RulesetValidation {
  const refused = sourceRefusal(source, opts.maxBytes ?? DEFAULT_MAX_RULESET_BYTES);
  if (refused) throw invalidArgument(`Invalid YARA ruleset: ${refused.message}`);

  const { errors, warnings } = loadYaraX().validate(source, huntingCompilerOptions());
  if (errors.length > 0) {
    const shown = errors.slice(0, 5).map(formatDiagnostic);
    const more = errors.length > 5 ? `\n(${errors.length - 5} more errors)` : '';
    const hint = errors.some(wantsVtHint) ? `\n${VT_MODULE_HINT}` : '';
    throw invalidArgument(`Invalid YARA ruleset: ${shown.join('\n')}${more}${hint}`);
  }

  return { ruleNames: declaredRuleNames(source), warnings: warnings.map(formatDiagnostic) };
}

/** An engine error about the vt module's fields, which VT_MODULE_HINT explains. */
const wantsVtHint = (d: { code: string; message: string }) => d.code === 'E100' && /\bvt\.\w+/.test(d.message);

/**
 * What is refused before compiling, with Trawl's code for it: an empty source, one over
 * `maxBytes`, an `include` directive. Undefined when none applies.
 */
function sourceRefusal(source: string, maxBytes: number): { code: string; message: string } | undefined {
  if (source.trim() === '') return { code: 'empty', message: 'ruleset has no rules' };
  // A string has at least length bytes of UTF-8, so the cheap test settles most oversize sources.
  const bytes = source.length > maxBytes ? source.length : Buffer.byteLength(source, 'utf8');
  if (bytes > maxBytes) return { code: 'size', message: `source is larger than the limit of ${maxBytes} bytes` };
  const included = includeLine(source);
  if (included !== undefined) return { code: 'include', message: `line ${included}: include directives are disabled; put all rules in the ruleset` };
  return undefined;
}

/** The rule names of a source the engine compiled; InvalidArgumentError when there are none, or repeats. */
function declaredRuleNames(source: string): string[] {
  const declarations = ruleDeclarations(source);
  if (declarations.length === 0) throw invalidArgument('Invalid YARA ruleset: ruleset has no rules');
  const seen = new Set<string>();
  for (const d of declarations) {
    // The engine refuses duplicates itself (E012); this guards against a lexer/engine disagreement.
    if (seen.has(d.name)) throw invalidArgument(`Invalid YARA ruleset: line ${d.line}: duplicate rule name "${d.name}"`);
    seen.add(d.name);
  }
  return declarations.map((d) => d.name);
}

/** One problem of a ruleset's source, where the editor should show it (1-based line and column). */
export interface RulesetDiagnostic {
  /** The engine's code (`E001`, `slow_pattern`, `invariant_expr`...) or Trawl's (`include`, `size`, `empty`, `too_slow`). */
  code: string;
  severity: 'error' | 'warning';
  message: string;
  line: number;
  column: number;
}

/** What a ruleset editor is told about a source while it is typed: nothing is stored. */
export interface RulesetDiagnosis {
  valid: boolean;
  ruleNames: string[];
  diagnostics: RulesetDiagnostic[];
}

/** Trawl's own refusals name a line in their text (`line 3: ...`); otherwise the top of the source. */
function refusal(code: string, message: string): RulesetDiagnostic {
  const line = /\bline (\d+)/.exec(message);
  return { code, severity: 'error', message: message.replace(/^Invalid YARA ruleset: /, ''), line: line ? Number(line[1]) : 1, column: 1 };
}

/**
 * Every problem of `source` with its position, for the web editor: the engine's errors (slow
 * patterns among them: the hunting options make them errors) and warnings each at its own line
 * and column, and the refusals validateRuleset and the speed probe make (`probe`) at the line they
 * name. The same checks as saving a ruleset, so what the editor accepts saves.
 */
export function diagnoseRuleset(source: string, opts: { maxBytes?: number; probe?: (source: string) => void } = {}): RulesetDiagnosis {
  const diagnose = (d: YaraDiagnostic, severity: 'error' | 'warning'): RulesetDiagnostic => {
    const pos = diagnosticPosition(d) ?? { line: 1, column: 1 };
    const hint = wantsVtHint(d) ? `\n${VT_MODULE_HINT}` : '';
    return { code: d.code, severity, message: formatDiagnostic({ code: d.code, message: d.message }) + hint, ...pos };
  };
  const early = sourceRefusal(source, opts.maxBytes ?? DEFAULT_MAX_RULESET_BYTES);
  if (early) return { valid: false, ruleNames: [], diagnostics: [refusal(early.code, early.message)] };
  const { errors, warnings } = loadYaraX().validate(source, huntingCompilerOptions());
  const diagnostics = [...errors.map((e) => diagnose(e, 'error')), ...warnings.map((w) => diagnose(w, 'warning'))];
  if (errors.length > 0) return { valid: false, ruleNames: [], diagnostics };
  try {
    const ruleNames = declaredRuleNames(source);
    opts.probe?.(source);
    return { valid: true, ruleNames, diagnostics };
  } catch (err) {
    if (!(err instanceof TrawlError)) throw err;
    return { valid: false, ruleNames: [], diagnostics: [...diagnostics, refusal(/too slow/.test(err.message) ? 'too_slow' : 'invalid', err.message)] };
  }
}
