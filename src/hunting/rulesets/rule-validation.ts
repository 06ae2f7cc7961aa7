// Validation of a hunting ruleset's YARA source before it is stored (spec 2.4): compiles it with the
// hunting options and refuses what the engine, VirusTotal or Trawl's limits refuse.
import { invalidArgument } from '../../model/errors.js';
import { formatDiagnostic, huntingCompilerOptions } from '../engine/engine-options.js';
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
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_RULESET_BYTES;
  if (source.trim() === '') throw invalidArgument('Invalid YARA ruleset: ruleset has no rules');
  // A string has at least length bytes of UTF-8, so the cheap test settles most oversize sources.
  const bytes = source.length > maxBytes ? source.length : Buffer.byteLength(source, 'utf8');
  if (bytes > maxBytes) {
    throw invalidArgument(`Invalid YARA ruleset: source is larger than the limit of ${maxBytes} bytes`);
  }
  const included = includeLine(source);
  if (included !== undefined) {
    throw invalidArgument(`Invalid YARA ruleset: line ${included}: include directives are disabled; put all rules in the ruleset`);
  }

  const { errors, warnings } = loadYaraX().validate(source, huntingCompilerOptions());
  if (errors.length > 0) {
    const shown = errors.slice(0, 5).map(formatDiagnostic);
    const more = errors.length > 5 ? `\n(${errors.length - 5} more errors)` : '';
    const hint = errors.some((e) => e.code === 'E100' && /\bvt\.\w+/.test(e.message)) ? `\n${VT_MODULE_HINT}` : '';
    throw invalidArgument(`Invalid YARA ruleset: ${shown.join('\n')}${more}${hint}`);
  }

  const declarations = ruleDeclarations(source);
  if (declarations.length === 0) throw invalidArgument('Invalid YARA ruleset: ruleset has no rules');
  const seen = new Set<string>();
  for (const d of declarations) {
    // The engine refuses duplicates itself (E012); this guards against a lexer/engine disagreement.
    if (seen.has(d.name)) throw invalidArgument(`Invalid YARA ruleset: line ${d.line}: duplicate rule name "${d.name}"`);
    seen.add(d.name);
  }
  return { ruleNames: declarations.map((d) => d.name), warnings: warnings.map(formatDiagnostic) };
}
