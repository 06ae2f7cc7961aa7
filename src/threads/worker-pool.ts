// A pool of worker threads for CPU-bound, synchronous native work (libmagic, YARA): one task per
// worker at a time, queued by priority and, within a priority, taken from each lane (a user's
// uploads, the late scans) in turn; a deadline per task enforced by terminating the worker,
// crashed workers replaced.

import os from 'node:os';
import { parentPort, Worker, type TransferListItem } from 'node:worker_threads';
import { TrawlError, transient, type ErrorCode } from '../model/errors.js';
import { lowerThreadPriority } from './thread-priority.js';
import { workerExecArgv } from './worker-exec-argv.js';

/**
 * The wire protocol. Request: the task's own fields plus `id` (tasks carry a `kind` so one worker
 * can serve several kinds). Reply: `{id, ok: true, result}` or `{id, ok: false, error}`.
 */
export type TaskReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { name: string; message: string; code?: ErrorCode } };

/** Options for {@link WorkerPool}. */
export interface WorkerPoolOptions {
  /** The worker's module (compiled .js), e.g. `new URL('../jobs/my-worker.js', import.meta.url)`. */
  script: URL;
  /** Number of workers; defaults to os.availableParallelism(). */
  size?: number;
  /** A task running longer than this is abandoned and its worker terminated. */
  taskTimeoutMs: number;
  /** Passed to every worker as `workerData`. */
  workerData?: unknown;
  /**
   * Nice value (1-19) the worker threads run at, so that other threads of the process get the
   * cores first when both want them; 0 or absent: the process's own priority. Linux only.
   */
  nice?: number;
  /** Tasks that may wait while something more urgent runs elsewhere in the process. */
  holdBack?: HoldBack;
  /**
   * While more than one lane has work (tasks waiting or running, or queued within this many
   * milliseconds), `heavy` tasks run on at most size - 1 workers: one is kept for light ones, so
   * that another user's small upload never waits for one user's large files (tasks are not
   * preempted). One lane alone gets every worker. 0 or absent: no reserve.
   */
  reserveMs?: number;
}

/**
 * While `active()` says so, tasks whose priority number is `fromPriority` or more (the less
 * urgent ones) stay queued, even with workers idle, for at most `maxWaitMs` each: the cores go
 * to the rest of the process.
 */
export interface HoldBack {
  fromPriority: number;
  active(): boolean;
  maxWaitMs: number;
}

/** How often held tasks are looked at again while no other event dispatches. */
const HOLD_RECHECK_MS = 50;

/** Per-task options of {@link WorkerPool.run}. */
export interface RunOptions {
  timeoutMs?: number;
  /** Lower runs first. Default 0. */
  priority?: number;
  /**
   * Tasks of equal priority are taken from each lane in turn, in the order they were queued
   * within a lane: one user's thousand uploads do not make another's one upload wait for them
   * all. Default ''.
   */
  lane?: string;
  /** At most this many tasks of this lane run at once (the others wait even with workers idle). */
  maxRunning?: number;
  /** A long task (a large file, a late scan): see WorkerPoolOptions.reserveMs. */
  heavy?: boolean;
  /**
   * Work nobody waits for (a Retrohunt job's scans, the content index's upkeep): background lanes
   * count as one lane for the reserve, so they never keep a thread idle for one another (with no
   * other lane, their heavy tasks take every thread); beside another lane's work, their heavy
   * tasks still leave a thread to it. A lane's tasks are all background or none.
   */
  background?: boolean;
}

interface Pending {
  message: { id: number };
  lane: string;
  background: boolean;
  maxRunning: number;
  heavy: boolean;
  queuedAt: number;
  timeoutMs: number;
  /** Only this worker may run it (see runOnEach). */
  pinned?: Slot;
  transfer: readonly TransferListItem[];
  resolve(result: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  startedAt: number;
  completed: number;
  task?: Pending;
  timer?: NodeJS.Timeout;
  crash?: Error;
}

// A worker that dies young without finishing a task (bad script, failing import) is restarted
// with a growing delay instead of in a tight loop.
const YOUNG_MS = 1000;
const MAX_RESPAWN_DELAY_MS = 5000;
const TIMED_OUT = new Error('terminated after its task timed out');
/** The message that asks an idle worker to exit. */
const CLOSE = { kind: '__close' } as const;
/** The message, sent before any task, that sets a new worker's nice value. */
const NICE = '__nice';

/** A fixed-size pool of worker threads; tasks queue while every worker is busy. */
export class WorkerPool {
  private readonly slots = new Set<Slot>();
  /** Waiting tasks by priority, lowest first (a handful of levels). */
  private readonly queues = new Map<number, Level>();
  private readonly size: number;
  private nextId = 1;
  private closed = false;
  private respawnDelay = 0;
  private readonly respawns = new Set<NodeJS.Timeout>();
  private recheck: NodeJS.Timeout | null = null;
  /** When each lane last queued a task (lane '', the pool's own tasks, not counted). */
  private readonly laneSeen = new Map<string, number>();
  /** Workers started to replace a crashed or timed-out one. */
  restarts = 0;

  constructor(private readonly options: WorkerPoolOptions) {
    this.size = Math.max(1, options.size ?? os.availableParallelism());
    for (let i = 0; i < this.size; i++) this.spawn();
  }

  /** Tasks currently running. */
  get busy(): number {
    return [...this.slots].filter((slot) => slot.task).length;
  }

  /** Tasks waiting for a worker. */
  get queued(): number {
    let n = 0;
    for (const level of this.queues.values()) for (const q of level.values()) n += q.length;
    return n;
  }

  /**
   * Runs `task` (a structured-cloneable object with a `kind`) on an idle worker.
   * Rejects with DeadlineExceededError after taskTimeoutMs (or `opts.timeoutMs`), or with the
   * worker's error.
   */
  run<T>(task: object, transfer: readonly TransferListItem[] = [], opts: RunOptions = {}): Promise<T> {
    if (this.closed) return Promise.reject(transient('worker pool is closed'));
    return new Promise<T>((resolve, reject) => {
      const message = { ...task, id: this.nextId++ };
      const timeoutMs = opts.timeoutMs ?? this.options.taskTimeoutMs;
      const lane = { lane: opts.lane ?? '', maxRunning: opts.maxRunning ?? Infinity, heavy: opts.heavy ?? false, background: opts.background ?? false };
      if (lane.lane && !lane.background) this.laneSeen.set(lane.lane, performance.now());
      this.enqueue(opts.priority ?? 0, { message, ...lane, queuedAt: performance.now(), timeoutMs, transfer, resolve: resolve as (r: unknown) => void, reject });
      this.dispatch();
    });
  }

  /**
   * Runs `task` once on every current worker (e.g. to load something each thread keeps), as a
   * priority-0 task of lane ''. A worker that dies meanwhile takes its copy with it.
   */
  runOnEach<T>(task: object, opts: { oneAtATime?: boolean } = {}): Promise<T[]> {
    if (this.closed) return Promise.reject(transient('worker pool is closed'));
    const on = (slot: Slot) => new Promise<T>((resolve, reject) => {
      const message = { ...task, id: this.nextId++ };
      this.enqueue(0, { message, lane: '', maxRunning: Infinity, heavy: false, background: false, queuedAt: performance.now(), timeoutMs: this.options.taskTimeoutMs, transfer: [], pinned: slot, resolve: resolve as (r: unknown) => void, reject });
      this.dispatch();
    });
    if (!opts.oneAtATime) return Promise.all([...this.slots].map(on));
    // The other threads go on with their tasks meanwhile.
    return [...this.slots].reduce<Promise<T[]>>(async (done, slot) => [...(await done), await on(slot)], Promise.resolve([]));
  }

  /**
   * Stops every worker; queued and running tasks are rejected with TransientError. Idle workers
   * are asked to exit, busy ones (and any that do not exit within a second) are terminated:
   * terminating a thread while it still loads a native addon aborts the whole process.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.respawns) clearTimeout(timer);
    if (this.recheck) clearTimeout(this.recheck);
    const slots = [...this.slots];
    const busy = new Set(slots.filter((slot) => slot.task));
    const queued = [...this.queues.values()].flatMap((level) => [...level.values()].flat());
    const abandoned = [...queued, ...slots.map((slot) => this.settle(slot))];
    this.queues.clear();
    for (const pending of abandoned) pending?.reject(transient('worker pool is closed'));
    await Promise.all(slots.map(async (slot) => {
      if (busy.has(slot)) return slot.worker.terminate();
      const exited = new Promise<void>((r) => slot.worker.once('exit', () => r()));
      slot.worker.postMessage(CLOSE);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<void>((r) => (timer = setTimeout(() => void slot.worker.terminate().then(() => r()), 1000)));
      await Promise.race([exited, late]);
      clearTimeout(timer);
    }));
  }

  private spawn(): void {
    const worker = new Worker(this.options.script, { workerData: this.options.workerData, execArgv: workerExecArgv() });
    if (this.options.nice) worker.postMessage({ kind: NICE, nice: this.options.nice });
    const slot: Slot = { worker, startedAt: Date.now(), completed: 0 };
    worker.unref(); // idle workers must not keep the process alive
    worker.on('message', (reply: TaskReply) => this.onReply(slot, reply));
    worker.on('error', (err) => (slot.crash = err));
    worker.on('exit', (code) => this.onExit(slot, code));
    this.slots.add(slot);
    this.dispatch();
  }

  private enqueue(priority: number, pending: Pending): void {
    let level = this.queues.get(priority);
    if (!level) {
      level = new Map();
      this.queues.set(priority, level);
      // Kept in ascending order so next() can walk them in order (new levels are rare).
      const sorted = [...this.queues].sort(([a], [b]) => a - b);
      this.queues.clear();
      for (const [p, l] of sorted) this.queues.set(p, l);
    }
    const q = level.get(pending.lane);
    if (q) q.push(pending);
    else level.set(pending.lane, [pending]);
  }

  /** Whether a worker is to be kept from heavy tasks now (see reserveMs). */
  private reserving(): boolean {
    const window = this.options.reserveMs ?? 0;
    if (window <= 0 || this.size < 2) return false;
    const since = performance.now() - window;
    for (const [lane, at] of this.laneSeen) if (at < since) this.laneSeen.delete(lane);
    // Lanes with work: queued lately, or waiting or running now (a task held back by the reserve
    // itself, or a late scan running for minutes, still counts). Background work does not: with
    // no other lane, heavy background tasks take every thread.
    const lanes = new Set(this.laneSeen.keys());
    // (A lane's tasks are all background or none: its first tells.)
    let background = false;
    for (const level of this.queues.values()) {
      for (const [lane, q] of level) {
        if (q[0]!.background) background = true;
        else if (lane) lanes.add(lane);
      }
    }
    for (const slot of this.slots) {
      if (slot.task?.background) background = true;
      else if (slot.task?.lane) lanes.add(slot.task.lane);
    }
    if (lanes.size + (background ? 1 : 0) < 2) return false;
    let heavy = 0;
    for (const slot of this.slots) if (slot.task?.heavy) heavy++;
    return heavy >= this.size - 1;
  }

  private recheckSoon(): void {
    this.recheck ??= setTimeout(() => {
      this.recheck = null;
      this.dispatch();
    }, HOLD_RECHECK_MS);
  }

  private running(lane: string): number {
    let n = 0;
    for (const slot of this.slots) if (slot.task?.lane === lane) n++;
    return n;
  }

  /**
   * Takes the first waiting task `slot` may run: highest priority first, and within a priority
   * from the lane whose turn it is (lanes rotate: the one served goes last).
   */
  private next(slot: Slot): Pending | undefined {
    const hold = this.options.holdBack;
    const holding = hold !== undefined && hold.active();
    for (const [priority, level] of this.queues) {
      // If the oldest task of a held level may wait, all may.
      if (holding && priority >= hold.fromPriority && performance.now() - oldest(level) < hold.maxWaitMs) {
        this.recheckSoon();
        continue;
      }
      const reserving = this.reserving();
      // Held-back heavy tasks may become runnable with no event to dispatch them (a lane's
      // last upload ageing past reserveMs).
      if (reserving) this.recheckSoon();
      for (const [lane, q] of level) {
        if (this.running(lane) >= q[0]!.maxRunning) continue;
        const i = q.findIndex((p) => (!p.pinned || p.pinned === slot) && !(p.heavy && reserving));
        if (i < 0) continue;
        const pending = q.splice(i, 1)[0]!;
        level.delete(lane);
        if (q.length > 0) level.set(lane, q); // its turn is over: to the back
        if (level.size === 0) this.queues.delete(priority);
        return pending;
      }
    }
    return undefined;
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.task || slot.crash) continue;
      const pending = this.next(slot);
      if (!pending) continue;
      slot.task = pending;
      const timeout = pending.timeoutMs;
      // setTimeout fires at once for delays above 2^31-1 ms: treat those as "no deadline".
      if (timeout > 0 && timeout < 2 ** 31) slot.timer = setTimeout(() => this.onTimeout(slot), timeout);
      slot.worker.ref();
      slot.worker.postMessage(pending.message, pending.transfer);
    }
  }

  /** Detaches the in-flight task from its slot and returns it. */
  private settle(slot: Slot): Pending | undefined {
    const pending = slot.task;
    clearTimeout(slot.timer);
    slot.task = slot.timer = undefined;
    slot.worker.unref();
    return pending;
  }

  private onReply(slot: Slot, reply: TaskReply): void {
    if (slot.task?.message.id !== reply.id) return; // a late reply for an abandoned task
    const pending = this.settle(slot)!;
    slot.completed++;
    this.respawnDelay = 0;
    if (reply.ok) pending.resolve(reply.result);
    else pending.reject(reviveError(reply.error));
    this.dispatch();
  }

  private onTimeout(slot: Slot): void {
    const pending = this.settle(slot);
    // Native code cannot observe a signal: the only way to stop the task is to stop the thread.
    slot.crash = TIMED_OUT;
    void slot.worker.terminate();
    const message = `task did not finish within ${pending?.timeoutMs ?? this.options.taskTimeoutMs} ms`;
    pending?.reject(new TrawlError('DeadlineExceededError', message));
  }

  private onExit(slot: Slot, code: number): void {
    this.slots.delete(slot);
    for (const [priority, level] of this.queues) {
      for (const [lane, q] of level) {
        for (let i = q.length - 1; i >= 0; i--) {
          if (q[i]!.pinned === slot) q.splice(i, 1)[0]!.reject(new Error('worker thread exited before the task ran'));
        }
        if (q.length === 0) level.delete(lane);
      }
      if (level.size === 0) this.queues.delete(priority);
    }
    const cause = slot.crash?.message ?? `exited with code ${code}`;
    this.settle(slot)?.reject(new Error(`worker thread crashed while running the task: ${cause}`));
    if (this.closed) return;
    this.restarts++;
    const young = slot.crash !== TIMED_OUT && slot.completed === 0 && Date.now() - slot.startedAt < YOUNG_MS;
    this.respawnDelay = young ? Math.min(MAX_RESPAWN_DELAY_MS, this.respawnDelay * 2 || 50) : 0;
    if (this.respawnDelay === 0) return this.spawn();
    const timer = setTimeout(() => this.respawns.delete(timer) && this.spawn(), this.respawnDelay);
    this.respawns.add(timer);
  }
}

/** The tasks of one priority: lane -> its tasks in the order queued; lanes in turn order. */
type Level = Map<string, Pending[]>;

function oldest(level: Level): number {
  let t = Infinity;
  for (const q of level.values()) t = Math.min(t, q[0]!.queuedAt);
  return t;
}

/** A worker's error reply as an error again: a TrawlError keeps its code. */
export function reviveError(error: { name: string; message: string; code?: ErrorCode }): Error {
  if (error.code) return new TrawlError(error.code, error.message);
  return Object.assign(new Error(error.message), { name: error.name });
}

/** Serves one task kind in a worker: returns the result (or a promise of it), or throws. */
export type TaskHandler = (task: Record<string, unknown>) => unknown;

/**
 * The worker side of the protocol: call once in a worker script with one handler per task `kind`
 * (tasks without one go to `defaultKind`). A throw becomes an error reply carrying its code.
 */
export function serveTasks(handlers: Record<string, TaskHandler>, defaultKind?: string): void {
  const port = parentPort;
  if (!port) throw new Error('serveTasks() must run inside a worker thread');
  port.on('message', async (task: { id: number; kind?: string } & Record<string, unknown>) => {
    if (task.kind === CLOSE.kind) return port.close();
    if (task.kind === NICE) return void lowerThreadPriority(Number(task.nice));
    const kind = task.kind ?? defaultKind ?? '';
    let reply: TaskReply;
    try {
      const handler = Object.hasOwn(handlers, kind) ? handlers[kind] : undefined;
      if (!handler) throw new Error(`unknown task kind "${kind}"`);
      reply = { id: task.id, ok: true, result: await handler(task) };
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      const code = e instanceof TrawlError ? e.code : undefined;
      reply = { id: task.id, ok: false, error: { name: e.name, message: e.message, code } };
    }
    try {
      port.postMessage(reply);
    } catch (err) {
      port.postMessage({ id: task.id, ok: false, error: { name: 'DataCloneError', message: String(err) } });
    }
  });
}
