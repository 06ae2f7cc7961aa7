// The worker loop: claims jobs from the durable queue, hands each to the handler of its kind
// (analysis, e-mail, ...) and retries failures with backoff. Leases are renewed while jobs run,
// so a worker that dies releases its jobs within one lease to the workers of other processes.
import type { Logger } from 'pino';
import type { Metrics } from '../metrics/metrics.js';
import type { Job, Store } from '../store/store.js';

export interface RunnerOptions {
  /** The id this process claims jobs under (its id in the process registry). */
  workerId: string;
  /** Jobs held at once; a little above the pool size keeps every thread busy. */
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  /** Runs of a job before its handler gives up on it. */
  maxAttempts: number;
  /** Wait before the first retry; each next one waits twice as long. */
  retryDelayMs: number;
  /**
   * Jobs of one lane held at most (default: half the concurrency), and smaller caps by lane: no
   * lane takes every slot, or another's jobs would wait, unclaimed, for its slow ones to finish.
   */
  perLane?: number;
  laneCaps?: Record<string, number>;
}

/** Runs jobs of one kind. `run` finishes the job (removes it) itself; a throw means "retry". */
export interface JobHandler {
  run(job: Job, log: Logger): Promise<void>;
  /**
   * Called instead of another retry once a job failed maxAttempts times; must finish the job
   * (analyses and late scans keep it as failed, for `trawl jobs retry`).
   */
  giveUp(job: Job, err: unknown, log: Logger): Promise<void>;
}

/** How long stop() waits for the jobs in hand. */
const STOP_GRACE_MS = 10_000;

export class JobRunner {
  readonly workerId: string;
  /**
   * Claims wait until a quarter of the slots are free: a claim is a transaction of its own, and
   * one per finished job cost the database writer as much as completing the jobs. The jobs still
   * held keep the pool busy meanwhile.
   */
  private readonly claimBatch: number;
  private inflight = 0;
  /** Jobs held, by lane. */
  private readonly held: Record<string, number> = {};
  private running = false;
  private wakeUp: (() => void) | null = null;
  /**
   * The last claim found fewer jobs than it asked for (the queue, or a lane's share, ran short):
   * the next one waits until claimBatch jobs finished, a poll, or an outside wake (an upload),
   * instead of claiming again after every job: a claim is several statements, and one per job
   * cost the database as much as the analyses' own writes (measured on PostgreSQL).
   */
  private starved = false;
  /** wake() was called while the loop was not waiting. */
  private woken = false;
  private finishedSinceClaim = 0;
  private loopDone: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly handlers: Record<string, JobHandler>,
    private readonly opts: RunnerOptions,
    private readonly log: Logger,
    /** Counts jobs finished by kind and outcome (an analysis is kind `analyze`). */
    private readonly metrics: Metrics | null = null,
  ) {
    this.claimBatch = Math.max(1, Math.floor(opts.concurrency / 4));
    this.workerId = opts.workerId;
  }

  /** Jobs in hand now. */
  get jobsHeld(): number {
    return this.inflight;
  }

  start(): void {
    this.running = true;
    this.heartbeat = setInterval(() => {
      if (this.inflight > 0) this.store.extendLeases(this.workerId, this.opts.leaseMs).catch((err) => this.log.warn({ err }, 'lease renewal failed'));
    }, Math.max(100, this.opts.leaseMs / 3));
    this.heartbeat.unref();
    this.loopDone = this.loop();
  }

  /** Tells the loop that work may be waiting (called after each local upload). */
  wake(): void {
    // A wake while the loop is claiming is kept for when it would wait: lost, an upload arriving
    // during a claim would wait for the next poll.
    if (this.wakeUp) this.wakeUp();
    else this.woken = true;
  }

  /**
   * Stops claiming and waits for the jobs in hand, at most `graceMs` (a late scan may take
   * minutes): jobs still running then are left to run again, their leases lapsing (embedded mode
   * requeues them at the next start).
   */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    let timer: NodeJS.Timeout | undefined;
    const drained = (async () => {
      while (this.inflight > 0) await new Promise<void>((r) => this.idle.push(r));
      return true;
    })();
    const grace = new Promise<false>((r) => (timer = setTimeout(() => r(false), graceMs)));
    if (!(await Promise.race([drained, grace]))) {
      this.log.warn({ jobs: this.inflight }, 'stopping with jobs still running: they will run again');
    }
    clearTimeout(timer);
    clearInterval(this.heartbeat);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.opts.concurrency - this.inflight;
      let jobs: Job[] = [];
      if (free >= this.claimBatch) {
        try {
          jobs = await this.store.claimJobs(this.workerId, free, this.opts.leaseMs, {
            held: this.held, perLane: this.opts.perLane ?? Math.max(1, Math.floor(this.opts.concurrency / 2)), caps: this.opts.laneCaps,
          });
        } catch (err) {
          this.log.warn({ err }, 'claiming jobs failed; retrying');
        }
        this.starved = jobs.length < free;
        this.finishedSinceClaim = 0;
      }
      for (const job of jobs) {
        this.inflight++;
        this.held[job.lane] = (this.held[job.lane] ?? 0) + 1;
        void this.run(job).finally(() => {
          this.inflight--;
          if (--this.held[job.lane]! === 0) delete this.held[job.lane];
          if (!this.starved || ++this.finishedSinceClaim >= this.claimBatch) this.wake();
          if (this.inflight === 0) this.idle.splice(0).forEach((r) => r());
        });
      }
      if ((jobs.length === 0 || this.starved || this.inflight >= this.opts.concurrency) && !this.woken) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            this.wakeUp = null;
            resolve();
          }, this.opts.pollMs);
          this.wakeUp = () => {
            clearTimeout(t);
            this.wakeUp = null;
            resolve();
          };
        });
      }
      this.woken = false;
    }
  }

  private async run(job: Job): Promise<void> {
    const log = this.log.child({ job: job.id, kind: job.kind });
    const handler = Object.hasOwn(this.handlers, job.kind) ? this.handlers[job.kind] : undefined;
    if (!handler) {
      log.error('no handler for this kind of job; dropping it');
      await this.store.deleteJob(job.id).catch((err) => log.error({ err }, 'could not drop job'));
      return;
    }
    try {
      await handler.run(job, log);
      this.metrics?.jobFinished(job.kind, 'completed');
    } catch (err) {
      if (job.attempts + 1 >= this.opts.maxAttempts) {
        log.error({ err }, 'job failed too often; giving up');
        // Counted as failed even if giveUp cannot record it: the job's work was not done.
        this.metrics?.jobFinished(job.kind, 'failed');
        await handler.giveUp(job, err, log).catch((e) => log.error({ err: e }, 'could not finish failed job'));
        return;
      }
      this.metrics?.jobFinished(job.kind, 'retried');
      log.warn({ err }, 'job failed; will retry');
      const delay = this.opts.retryDelayMs * 2 ** job.attempts;
      await this.store.retryJob(job.id, String(err), delay).catch((e) => log.error({ err: e }, 'could not reschedule job'));
    }
  }
}
