// Worker-thread entry of content searches (a WorkerPool of the API process: content-search.ts):
// compiling a query's rule, narrowing the content index and scanning candidates, off the event loop.
import { serveTasks } from '../threads/worker-pool.js';
import { ContentScanner, type CandidatesTask, type CompileTask, type ScanTask } from './content-scan.js';

const scanner = new ContentScanner();
serveTasks({
  'content-compile': (t) => void scanner.compile((t as unknown as CompileTask).query),
  'content-candidates': (t) => scanner.candidates(t as unknown as CandidatesTask),
  'content-scan': (t) => scanner.scan(t as unknown as ScanTask),
});
