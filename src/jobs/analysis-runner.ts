// The worker loop: claims `analyze` jobs from the durable queue, runs them on the worker-thread
// pool and records the results. Leases are renewed while jobs run, so a worker that dies
// releases its jobs within one lease to the workers of other processes.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { FileAnalysis, Job, Store } from '../store/store.js';

export interface RunnerOptions {
  /** Jobs held at once; a little above the pool size keeps every thread busy. */
  concurrency: number;
  leaseMs: number;
  pollMs: number;
  maxAttempts: number;
}

/** What a file gets when its analysis keeps failing: the submission still completes. */
const UNANALYSABLE: FileAnalysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };

export class AnalysisRunner {
  readonly workerId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private inflight = 0;
  private running = false;
  private wakeUp: (() => void) | null = null;
  private loopDone: Promise<void> = Promise.resolve();
  private heartbeat: NodeJS.Timeout | undefined;
  private idle: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly analyze: (path: string) => Promise<FileAnalysis>,
    private readonly opts: RunnerOptions,
    private readonly log: Logger,
  ) {}

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
    this.wakeUp?.();
  }

  /** Stops claiming and waits for the jobs in hand to finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loopDone;
    while (this.inflight > 0) await new Promise<void>((r) => this.idle.push(r));
    clearInterval(this.heartbeat);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const free = this.opts.concurrency - this.inflight;
      let jobs: Job[] = [];
      if (free > 0) {
        try {
          jobs = await this.store.claimJobs(this.workerId, free, this.opts.leaseMs);
        } catch (err) {
          this.log.warn({ err }, 'claiming jobs failed; retrying');
        }
      }
      for (const job of jobs) {
        this.inflight++;
        void this.run(job).finally(() => {
          this.inflight--;
          this.wake();
          if (this.inflight === 0) this.idle.splice(0).forEach((r) => r());
        });
      }
      if (jobs.length === 0 || this.inflight >= this.opts.concurrency) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.opts.pollMs);
          this.wakeUp = () => {
            clearTimeout(t);
            this.wakeUp = null;
            resolve();
          };
        });
      }
    }
  }

  private async run(job: Job): Promise<void> {
    const submissionId = Number(job.payload.submissionId);
    const log = this.log.child({ job: job.id, submission: submissionId });
    try {
      const submission = await this.store.getSubmission(submissionId);
      if (!submission) {
        log.warn('submission is gone; dropping its job');
        await this.store.completeAnalysis(job.id, submissionId, UNANALYSABLE, Math.floor(Date.now() / 1000));
        return;
      }
      await this.store.setSubmissionStatus(submissionId, 'in-progress');
      const path = await this.blobs.localPath(submission.sha256);
      if (!path) throw new Error(`blob ${submission.sha256} is missing`);
      const analysis = await this.analyze(path);
      await this.store.completeAnalysis(job.id, submissionId, analysis, Math.floor(Date.now() / 1000));
    } catch (err) {
      if (job.attempts + 1 >= this.opts.maxAttempts) {
        log.error({ err }, 'analysis failed too often; completing without type information');
        await this.store
          .completeAnalysis(job.id, submissionId, UNANALYSABLE, Math.floor(Date.now() / 1000))
          .catch((e) => log.error({ err: e }, 'could not complete failed job'));
        return;
      }
      log.warn({ err }, 'analysis failed; will retry');
      const delay = 1000 * 2 ** job.attempts;
      await this.store.retryJob(job.id, String(err), delay).catch((e) => log.error({ err: e }, 'could not reschedule job'));
    }
  }
}
