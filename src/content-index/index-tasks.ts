// The content index's work on the analysis threads (jobs/analysis-worker.ts serves it): a file's
// trigrams, and segments written from trigram lists or from other segments. Building one takes
// 128 MB of tables and seconds for large inputs: never on the event loop.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { distinctGrams, encodeAscending } from './grams.js';
import { buildSegment, mergeSegments, type IndexedFile } from './segment.js';

/** A file's trigrams, encoded; null when it is over `maxBytes` (not indexable: always scanned). */
export interface GramsTask {
  kind: 'grams';
  path: string;
  maxBytes: number;
}

/** A segment of these files (in order), written at `out`. */
export interface BuildSegmentTask {
  kind: 'index-build';
  files: IndexedFile[];
  out: string;
}

/** One segment of the segments at `paths` (in order), written at `out`. */
export interface MergeSegmentsTask {
  kind: 'index-merge';
  paths: string[];
  out: string;
}

export interface WrittenSegment {
  sha256: string;
  bytes: number;
}

/** The encoded trigrams of `data`. */
export function gramsOf(data: Uint8Array): Uint8Array {
  return encodeAscending(distinctGrams(data));
}

function write(out: string, segment: Buffer): WrittenSegment {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, segment);
  return { sha256: createHash('sha256').update(segment).digest('hex'), bytes: segment.length };
}

export function runBuild(t: BuildSegmentTask): WrittenSegment {
  return write(t.out, buildSegment(t.files));
}

export function runMerge(t: MergeSegmentsTask): WrittenSegment {
  return write(t.out, mergeSegments(t.paths.map((p) => readFileSync(p))));
}
