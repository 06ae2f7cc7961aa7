// Worker-thread entry for file analysis and YARA scans: serves WorkerPool tasks by `kind`. Each
// thread opens its own libmagic cookies and keeps its own deserialized rules (hunting/scan/matcher.ts).

import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { isMainThread, threadId } from 'node:worker_threads';
import { identifyAndAnalyze } from '../analysis/pipeline.js';
import { containerOf, extractContainer, type Extraction } from '../extraction/extract-file.js';
import { Matcher } from '../hunting/scan/matcher.js';
import type { HuntResult, HuntTask, ScanArtifact } from '../hunting/engine/rules-artifact.js';
import { scanVariables, type ScanVariables } from '../hunting/scan/scan-variables.js';
import type { AnalyzeResult, AnalyzeTask, ExtractTask, HuntFileTask, HuntFilesResult, HuntFilesTask } from '../extraction/walk-tasks.js';
import { serveTasks } from '../threads/worker-pool.js';
import { writeZip, type ZipWriteTask } from '../extraction/zip-writer.js';
import { gramsOf, runBuild, runMerge, type BuildSegmentTask, type GramsTask, type MergeSegmentsTask } from '../content-index/index-tasks.js';

/** This module's URL: pass it as WorkerPool's `script` (resolves to dist/src/jobs/ when built). */
export const analysisWorkerScript = new URL(import.meta.url);

/**
 * Files are read into one buffer per thread, grown as needed and reused: a fresh buffer per
 * file made the garbage collector's threads the busiest in the process on large files.
 */
let scratch = Buffer.alloc(0);

function readWhole(path: string, size: number): Buffer {
  if (scratch.length < size) scratch = Buffer.allocUnsafe(Math.max(size, Math.min(2 * scratch.length, 256 * 1024 * 1024)));
  const fd = openSync(path, 'r');
  try {
    let n = 0;
    while (n < size) {
      const got = readSync(fd, scratch, n, size - n, n);
      if (got === 0) break;
      n += got;
    }
    return scratch.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

function analyzeAndHunt(task: AnalyzeTask, matcher: Matcher): { result: AnalyzeResult; mime: string; size: number } {
  const { analysis, mime } = identifyAndAnalyze(task.path);
  const { size } = statSync(task.path);
  const result: AnalyzeResult = { analysis };
  if (task.hunt && task.hunt.artifacts.length > 0) {
    const variables = task.context ? scanVariables(task.context, analysis) : undefined;
    result.hunt = scanStored(task.path, size, task.hunt, variables, matcher);
  }
  // The content index's trigrams (the file is read again: from the page cache, the scan just read it).
  if (task.indexMaxBytes !== undefined) result.grams = size > task.indexMaxBytes ? null : gramsOf(readWhole(task.path, size));
  return { result, mime, size };
}

/** Scans a stored file of `size` bytes; checked before reading: a file over the limit is never loaded whole. */
function scanStored(path: string, size: number, hunt: HuntTask, variables: ScanVariables | undefined, matcher: Matcher): HuntResult {
  if (size > hunt.maxBytes) return { matches: [], scans: [], skipped: 'too-large' };
  return matcher.scan(readWhole(path, size), hunt, variables);
}

function analyze(task: AnalyzeTask, matcher: Matcher): AnalyzeResult {
  const { result, mime, size } = analyzeAndHunt(task, matcher);
  if (!task.probeContainer) return result;
  const container = containerOf(task.path, { magic: result.analysis.magic, mime, size });
  return container ? { ...result, container } : result;
}

// Importing this module from the main thread (to get the URL) must not start serving.
if (!isMainThread) {
  const matcher = new Matcher(threadId);
  serveTasks(
    {
      analyze: (task) => {
        if (typeof task.path !== 'string') throw new TypeError('analyze task needs a string `path`');
        return analyze(task as unknown as AnalyzeTask, matcher);
      },
      hunt: (task) => {
        if (typeof task.path !== 'string') throw new TypeError('hunt task needs a string `path`');
        const t = task as unknown as HuntFileTask;
        return scanStored(t.path, statSync(t.path).size, t.hunt, t.variables, matcher);
      },
      // A file that cannot be read fails alone: the others of the task are still scanned.
      'hunt-files': (task): HuntFilesResult => (task as unknown as HuntFilesTask).files.map((f) => {
        try {
          return scanStored(f.path, statSync(f.path).size, (task as unknown as HuntFilesTask).hunt, f.variables, matcher);
        } catch (err) {
          return { error: err instanceof Error ? err.message : String(err) };
        }
      }),
      extract: async (task): Promise<Extraction> => {
        const t = task as unknown as ExtractTask;
        if (typeof t.path !== 'string') throw new TypeError('extract task needs a string `path`');
        return extractContainer(t.path, t.container, t.size, t.extract);
      },
      grams: (task) => {
        const t = task as unknown as GramsTask;
        if (typeof t.path !== 'string') throw new TypeError('grams task needs a string `path`');
        const { size } = statSync(t.path);
        return size > t.maxBytes ? null : gramsOf(readWhole(t.path, size));
      },
      'index-build': (task) => runBuild(task as unknown as BuildSegmentTask),
      'index-merge': (task) => runMerge(task as unknown as MergeSegmentsTask),
      // A ZIP file of stored files (intelligence/zip_files).
      'zip-write': (task) => writeZip(task as unknown as ZipWriteTask),
      // Loads new rule sets ahead of the next scan, so no upload waits for the deserialization.
      warm: (task) => matcher.load((task.artifacts ?? []) as ScanArtifact[]),
    },
    'analyze', // `{id, path}` without a kind is an analysis
  );
}
