// The tasks a submission's walk sends to the analysis threads (jobs/analysis-worker.ts serves
// them): analyse a file (and scan it, and say whether it is a container), unpack a container one
// level, scan a stored file with some rule sets only.
import type { HuntResult, HuntTask } from '../hunting/engine/rules-artifact.js';
import type { ScanContext, ScanVariables } from '../hunting/scan/scan-variables.js';
import type { FileAnalysis } from '../store/store.js';
import type { Container, ExtractRequest } from './extract-file.js';

/**
 * Analyses one stored file; with `hunt`, scans it with the hunting rules; with `probeContainer`,
 * also says whether it is a container (unpacking it is an ExtractTask of its own, which can wait
 * behind more urgent work).
 */
export interface AnalyzeTask {
  kind: 'analyze';
  path: string;
  hunt?: HuntTask;
  /** Gives the rules' external variables (file name, new_file, ...) their values; without it they keep their defaults. */
  context?: ScanContext;
  probeContainer?: boolean;
  /** Set: also the file's trigrams for the content index, when it is at most this many bytes. */
  indexMaxBytes?: number;
}

export interface AnalyzeResult {
  analysis: FileAnalysis;
  hunt?: HuntResult;
  /** With `indexMaxBytes`: the file's encoded trigrams; null when it is too large to index. */
  grams?: Uint8Array | null;
  /** Set when `probeContainer` was asked and the file is a container: the extractor that takes it. */
  container?: Container;
}

/** Scans a stored file with some sets only (the late scan of quarantined sets). */
export interface HuntFileTask {
  kind: 'hunt';
  path: string;
  hunt: HuntTask;
  variables: ScanVariables;
}

/**
 * Scans stored files one after the other with the same sets (a Retrohunt job's small files, many
 * a task: one round trip between threads for all of them).
 */
export interface HuntFilesTask {
  kind: 'hunt-files';
  files: { path: string; variables: ScanVariables }[];
  hunt: HuntTask;
}

/** Per file of a HuntFilesTask, in order: its scan, or why it could not be read. */
export type HuntFilesResult = (HuntResult | { error: string })[];

/** Unpacks a container one level, with the extractor its analysis chose. */
export interface ExtractTask {
  kind: 'extract';
  path: string;
  size: number;
  container: Container;
  extract: ExtractRequest;
}
