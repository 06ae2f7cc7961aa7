// The compiler options every hunting ruleset is compiled with (validation and scanning alike),
// the external variables rules may reference, and how engine diagnostics read in error messages.
import type { YaraCompilerOptions, YaraDiagnostic } from './yara-x.js';

/**
 * External variables defined for every ruleset, with empty defaults, so public rules compile:
 * signature-base's (`filename`, `filepath`, `extension`, `filetype`, `owner`) and VirusTotal
 * Livehunt's common ones (`file_name`, `file_type`, `new_file`, `positives`, `signatures`,
 * `submissions`, `tags`). A value's type fixes the variable's type. Each hunting scan passes the
 * scanned file's own values (scan-variables.ts).
 */
export const EXTERNAL_VARIABLES: Readonly<Record<string, string | number | boolean>> = Object.freeze({
  filename: '',
  filepath: '',
  extension: '',
  filetype: '',
  owner: '',
  file_name: '',
  file_type: '',
  new_file: false,
  positives: 0,
  signatures: '',
  submissions: 0,
  tags: '',
});

/**
 * Options for every hunting compilation: includes disabled (no file is ever read), slow patterns
 * are errors (VirusTotal refuses them too; each rule runs on every upload), YARA 4 regex escapes
 * accepted. Potentially slow loops stay warnings: YARA-X flags the common `for any i in (1..#a)`
 * idiom too; the scan timeout bounds them.
 */
export function huntingCompilerOptions(): YaraCompilerOptions {
  return {
    defineVariables: { ...EXTERNAL_VARIABLES },
    enableIncludes: false,
    errorOnSlowPattern: true,
    relaxedReSyntax: true,
  };
}

/** Line and column (1-based) of a diagnostic, from its fields or its rendered ` --> line:L:C`. */
export function diagnosticPosition(d: YaraDiagnostic): { line: number; column: number } | undefined {
  if (d.line !== undefined && d.column !== undefined) return { line: d.line, column: d.column };
  const m = /-->\s*line:(\d+):(\d+)/.exec(d.message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

/**
 * One-paragraph rendering of a diagnostic: `line 4, column 1: error[E001]: syntax error` and then
 * the engine's own text (excerpt with caret), so a client sees both position and context.
 */
export function formatDiagnostic(d: YaraDiagnostic): string {
  const pos = diagnosticPosition(d);
  const lines = d.message.split('\n');
  const head = lines[0] ?? d.code;
  const rest = lines.slice(1).join('\n');
  const where = pos ? `line ${pos.line}, column ${pos.column}: ` : '';
  return `${where}${head}${rest ? `\n${rest}` : ''}`;
}

/** The rendered text of a thrown compile error (`Compilation error (E009): error[E009]: …`). */
export function compileErrorText(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const stripped = message.replace(/^Compilation error \(\w+\):\s*/, '');
  const code = /^error\[(\w+)\]/.exec(stripped)?.[1] ?? 'error';
  return formatDiagnostic({ code, message: stripped });
}
