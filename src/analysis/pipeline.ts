// File analysis: runs the analyzers (one module each under analyzers/) over one file, in order,
// and assembles the FileAnalysis the store keeps. Synchronous: it runs inside a worker thread.

import type { FileAnalysis } from '../store/store.js';
import { vtFileType } from './analyzers/file-type.js';
import { Libmagic } from './analyzers/libmagic.js';

/** What the analyzers have learnt so far about one file; each one reads and adds. */
export interface FileFacts {
  readonly path: string;
  /** libmagic's description, as `file -b` prints it. */
  magic: string;
  /** libmagic's MIME type, as `file -b --mime-type` prints it. */
  mime: string;
  analysis: Partial<FileAnalysis>;
  /** File-level tags; a set so analyzers can add the same tag without checking. */
  tags: Set<string>;
}

/** What a file gets when its analysis keeps failing: its submission still completes. */
export const UNANALYSABLE: FileAnalysis = Object.freeze({ magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] });

/** One analysis step. Throwing fails the whole analysis (the job is retried). */
export type Analyzer = (facts: FileFacts) => void;

// libmagic cookies are not thread-safe: one pair per thread, opened lazily so that importing
// this module (e.g. in the main thread) does not load libmagic.
let libmagic: Libmagic | undefined;

const identify: Analyzer = (facts) => {
  libmagic ??= new Libmagic();
  facts.magic = libmagic.describe(facts.path);
  facts.mime = libmagic.mime(facts.path);
  facts.analysis.magic = facts.magic;
};

const classify: Analyzer = (facts) => {
  const { tags, ...type } = vtFileType(facts.magic, facts.mime);
  Object.assign(facts.analysis, type);
  for (const tag of tags) facts.tags.add(tag);
};

/** The analyzers, in order: later ones may use what earlier ones found. */
const ANALYZERS: readonly Analyzer[] = [identify, classify];

/**
 * Analyses the file at `path` (libmagic reads only the bytes it needs).
 * @throws Error when the file cannot be read or libmagic is not installed.
 */
export function analyzeFile(path: string): FileAnalysis {
  return identifyAndAnalyze(path).analysis;
}

/** Like analyzeFile, also giving libmagic's MIME type (extractors are chosen with it). */
export function identifyAndAnalyze(path: string): { analysis: FileAnalysis; mime: string } {
  const facts: FileFacts = { path, magic: '', mime: '', analysis: {}, tags: new Set() };
  for (const analyzer of ANALYZERS) analyzer(facts);
  const { analysis } = facts;
  return {
    mime: facts.mime,
    analysis: {
      magic: facts.magic,
      typeDescription: analysis.typeDescription ?? 'unknown',
      typeTag: analysis.typeTag ?? 'unknown',
      typeTags: analysis.typeTags ?? [],
      typeExtension: analysis.typeExtension ?? '',
      tags: [...facts.tags],
    },
  };
}
