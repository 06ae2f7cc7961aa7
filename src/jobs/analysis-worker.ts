// Worker-thread entry for file analysis and YARA scans: serves WorkerPool tasks by `kind`. Each
// thread opens its own libmagic cookies and keeps its own deserialized rules (hunting/matcher.ts).

import { readFileSync, statSync } from 'node:fs';
import { isMainThread } from 'node:worker_threads';
import { analyzeFile } from '../analysis/pipeline.js';
import { Matcher } from '../hunting/matcher.js';
import type { HuntResult, HuntTask } from '../hunting/rules-artifact.js';
import type { FileAnalysis } from '../store/store.js';
import { serveTasks } from './worker-pool.js';

/** Analyses one stored file and, with `hunt`, scans it with the hunting rules. */
export interface AnalyzeTask {
  kind: 'analyze';
  path: string;
  hunt?: HuntTask;
}

export interface AnalyzeResult {
  analysis: FileAnalysis;
  hunt?: HuntResult;
}

/** This module's URL: pass it as WorkerPool's `script` (resolves to dist/src/jobs/ when built). */
export const analysisWorkerScript = new URL(import.meta.url);

function analyze(task: AnalyzeTask, matcher: Matcher): AnalyzeResult {
  const analysis = analyzeFile(task.path);
  if (!task.hunt || task.hunt.artifacts.length === 0) return { analysis };
  // Checked before reading: a file over the limit is never loaded whole.
  if (statSync(task.path).size > task.hunt.maxBytes) return { analysis, hunt: { matches: [], scans: [], skipped: 'too-large' } };
  return { analysis, hunt: matcher.scan(readFileSync(task.path), task.hunt) };
}

// Importing this module from the main thread (to get the URL) must not start serving.
if (!isMainThread) {
  const matcher = new Matcher();
  serveTasks(
    {
      analyze: (task) => {
        if (typeof task.path !== 'string') throw new TypeError('analyze task needs a string `path`');
        return analyze(task as unknown as AnalyzeTask, matcher);
      },
    },
    'analyze', // `{id, path}` without a kind is an analysis
  );
}
