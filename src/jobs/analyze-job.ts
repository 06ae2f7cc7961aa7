// The `analyze` job: one submission's journey from the blob store through analysis and hunting
// (both on a worker thread) to its notifications, stored in the transaction that completes it.
import type { Logger } from 'pino';
import { buildNotifications } from '../hunting/notification-builder.js';
import type { Hunter } from '../hunting/hunter.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { FileAnalysis, Job, RulesetRecord, Store } from '../store/store.js';
import type { AnalyzeResult, AnalyzeTask } from './analysis-worker.js';
import type { JobHandler } from './job-runner.js';
import type { WorkerPool } from './worker-pool.js';

/** What a file gets when its analysis keeps failing: the submission still completes. */
const UNANALYSABLE: FileAnalysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };

export interface AnalyzeJobOptions {
  /** Deadline of the analysis part of a task (the scan adds its own). */
  analysisTimeoutMs: number;
  /** Queue e-mails for notifications (an SMTP server is configured). */
  emails: boolean;
  /** How long e-mails wait to be sent, so a burst of matches makes one digest. */
  emailDelayMs: number;
}

const now = () => Math.floor(Date.now() / 1000);

export class AnalyzeJob implements JobHandler {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: WorkerPool,
    /** Null when this process does no hunting. */
    private readonly hunter: Hunter | null,
    private readonly opts: AnalyzeJobOptions,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const submissionId = Number(job.payload.submissionId);
    const submission = await this.store.getSubmission(submissionId);
    if (!submission) {
      log.warn({ submission: submissionId }, 'submission is gone; dropping its job');
      await this.store.completeAnalysis(job.id, submissionId, UNANALYSABLE, now());
      return;
    }
    const path = await this.blobs.localPath(submission.sha256);
    if (!path) throw new Error(`blob ${submission.sha256} is missing`);
    const snap = this.hunter ? await this.hunter.snapshot() : null;
    const hunt = snap && this.hunter ? this.hunter.task(snap) : null;
    const task: AnalyzeTask = { kind: 'analyze', path, ...(hunt ? { hunt } : {}) };
    const result = await this.pool.run<AnalyzeResult>(task, [], { timeoutMs: this.opts.analysisTimeoutMs + (this.hunter?.deadlineMs(hunt) ?? 0) });
    let notifications: ReturnType<typeof buildNotifications> = [];
    if (snap && this.hunter && result.hunt) {
      if (result.hunt.skipped) log.info({ sha256: submission.sha256, reason: result.hunt.skipped }, 'file not scanned');
      const matches = await this.hunter.settle(snap, result.hunt, { path, sha256: submission.sha256 });
      notifications = buildNotifications(submission, matches, await this.rulesetsOf(matches), now());
    }
    const stored = await this.store.completeAnalysis(job.id, submissionId, result.analysis, now(), notifications, {
      emails: this.opts.emails,
      emailDelayMs: this.opts.emailDelayMs,
    });
    if (stored.stored.length > 0 || stored.gone > 0 || Object.keys(stored.rateLimited).length > 0) {
      log.debug({ sha256: submission.sha256, notifications: stored.stored.length, gone: stored.gone, rateLimited: stored.rateLimited }, 'hunting notifications');
    }
  }

  async giveUp(job: Job, _err: unknown, _log: Logger): Promise<void> {
    await this.store.completeAnalysis(job.id, Number(job.payload.submissionId), UNANALYSABLE, now());
  }

  private async rulesetsOf(matches: readonly { rulesetId: number }[]): Promise<Map<number, RulesetRecord>> {
    const ids = [...new Set(matches.map((m) => m.rulesetId))];
    const found = await Promise.all(ids.map((id) => this.store.getRuleset(id)));
    return new Map(found.filter((r): r is RulesetRecord => !!r).map((r) => [r.id, r]));
  }
}
