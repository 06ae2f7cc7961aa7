// The values of the external variables (engine-options.ts) for one scanned file. Public rules
// test them: signature-base's `filename`/`extension` conditions (often negated, to leave out
// known-good files) and VirusTotal's legacy Livehunt `new_file`/`file_type`/`submissions`. Left
// at their empty defaults, a negated condition matches every file.
import type { FileAnalysis } from '../../store/store.js';

/** What the walk knows of a file beyond its content and analysis. */
export interface ScanContext {
  /** Its name at upload, or its path inside its container; null when it has none. */
  name: string | null;
  /** Never analysed before this submission (new to this Trawl). */
  newFile: boolean;
  /** Times it was submitted itself (0 for a file only ever seen inside containers). */
  submissions: number;
}

export type ScanVariables = Record<string, string | number | boolean>;

/** signature-base's `filetype` (LOKI's names, e.g. EXE for every MZ file) from VirusTotal's type. */
function lokiFileType(a: FileAnalysis): string {
  if (a.typeTags.includes('pe') || a.typeTag === 'dosexe' || a.typeTag === 'neexe') return 'EXE';
  return a.typeExtension.toUpperCase();
}

/**
 * Every external variable with this file's value. Each key must be one of EXTERNAL_VARIABLES
 * with a value of the same type: the engine refuses a scan otherwise.
 */
export function scanVariables(ctx: ScanContext, analysis: FileAnalysis): ScanVariables {
  const path = ctx.name ?? '';
  const slash = Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\'));
  const name = path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  return {
    filename: name,
    filepath: slash > 0 ? path.slice(0, slash) : '',
    extension: dot > 0 ? name.slice(dot).toLowerCase() : '',
    filetype: lokiFileType(analysis),
    owner: '',
    file_name: name,
    // VirusTotal's legacy `file_type` held its type tags: `file_type contains "pe"`.
    file_type: [...new Set([analysis.typeTag, ...analysis.typeTags])].filter((t) => t !== 'unknown').join(' '),
    new_file: ctx.newFile,
    // No antivirus engines here: no positives and no signatures, as for any file on VirusTotal
    // that no engine detects.
    positives: 0,
    signatures: '',
    submissions: ctx.submissions,
    tags: analysis.tags.join(' '),
  };
}
