// The node options worker threads are started with. Left to node (undefined), a worker inherits
// the process's own, V8 options such as --single-threaded-gc included (they apply to every thread
// anyway); given explicitly, those are refused. Only --input-type, which `node -e` callers set
// and a worker started from a file refuses, makes an explicit list necessary.
export function workerExecArgv(): string[] | undefined {
  const own = process.execArgv;
  return own.some((a) => a.startsWith('--input-type')) ? own.filter((a) => !a.startsWith('--input-type')) : undefined;
}
