// Worker-thread entry for file analysis (and, later, YARA scans): serves WorkerPool tasks by
// `kind`. Each thread opens its own libmagic cookies on its first task.

import { isMainThread } from 'node:worker_threads';
import { analyzeFile } from '../analysis/pipeline.js';
import { serveTasks } from './worker-pool.js';

/** Analyses one stored file; replies with a FileAnalysis. */
export interface AnalyzeTask {
  kind: 'analyze';
  path: string;
}

/** This module's URL: pass it as WorkerPool's `script` (resolves to dist/src/jobs/ when built). */
export const analysisWorkerScript = new URL(import.meta.url);

// Importing this module from the main thread (to get the URL) must not start serving.
if (!isMainThread) {
  serveTasks(
    {
      analyze: (task) => {
        if (typeof task.path !== 'string') throw new TypeError('analyze task needs a string `path`');
        return analyzeFile(task.path);
      },
    },
    'analyze', // `{id, path}` without a kind is an analysis
  );
}
