// YARA-X's compilers and compiled rules live in native memory (a set deserialized from 1.4 MB
// holds about 4.5 MB) that V8 does not count: they are freed only when the garbage collector
// finalizes their wrappers, and a thread that allocates little JavaScript collects rarely. A
// scanning thread that loaded a new set every 30 s grew by 200 MB over a 30-minute soak; with a
// collection after the sets it drops, it does not grow (docs/notes/benchmarks.md). The wrappers'
// finalizers run on the next turn of the thread's event loop, between tasks.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null = null;

/** Runs a full garbage collection in this thread, so that dropped YARA-X objects are freed. */
export function releaseDroppedRules(): void {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
}

/** Calls releaseDroppedRules once every `every` calls: for threads that make many small sets. */
export function releaseEvery(every: number): () => void {
  let n = 0;
  return () => {
    if (++n % every === 0) releaseDroppedRules();
  };
}
