// The `analyze` job: one submission's journey from the blob store through analysis, unpacking
// and hunting (on worker threads, see extraction/submission-walk.ts) to its notifications, its
// verdict from community rules and its subfiles, stored in the transaction that completes it.
// Goodware is not hunted.
import type { Logger } from 'pino';
import { UNANALYSABLE } from '../analysis/pipeline.js';
import { analysisLane } from '../model/records.js';
import type { ExtractionLimits } from '../extraction/limits.js';
import { buildNotifications, matchedRulesets } from '../hunting/scan/notification-builder.js';
import { communityMatches, communityScan, splitCommunity } from '../hunting/scan/community-verdicts.js';
import type { RawMatch } from '../hunting/engine/rules-artifact.js';
import { catchesUp, inCatchUp, type CatchUp, type Hunter } from '../hunting/scan/hunter.js';
import { scanVariables } from '../hunting/scan/scan-variables.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { FollowUpJob, Job, Store } from '../store/store.js';
import { describeFailure, MissingBlobError, rawError } from './job-failure.js';
import type { JobHandler } from './job-runner.js';
import { lateScanJob } from './late-scan-job.js';
import { SubmissionWalk, type HuntedFile } from '../extraction/submission-walk.js';
import type { WorkerPool } from '../threads/worker-pool.js';

export interface AnalyzeJobOptions {
  /** Deadline of the analysis part of a task (the scan adds its own). */
  analysisTimeoutMs: number;
  /** Queue e-mails for notifications (an SMTP server is configured). */
  emails: boolean;
  /** How long e-mails wait to be sent, so a burst of matches makes one digest. */
  emailDelayMs: number;
  extraction: ExtractionLimits;
  /** How long an analysis waits for ruleset changes to compile before it scans without them and they scan late (rulesCompileWaitMs). */
  catchUpAfterMs: number;
  /** Set: files are indexed (content index) when at most this many bytes. */
  indexMaxBytes?: number;
  /** Called with how many files' trigrams an analysis took for the content index, and how many it skipped (held already). */
  onIndexed?: (taken: number, skipped: number) => void;
  /** Called with how many notifications an analysis stored, when any (the live feed then polls at once; metrics count them). */
  onNotifications?: (count: number) => void;
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
    if (!path) throw new MissingBlobError(submission.sha256);
    // The goodware corpus is analysed and unpacked but never hunted by Livehunt: no scan, no
    // notification, no late scan (records.ts Corpus); retrohunt jobs over it find its matches.
    const hunter = submission.corpus === 'goodware' ? null : this.hunter;
    // Taken after the claim, so rules changed before the upload was acknowledged apply: at once
    // if they compile in time, or through a late scan.
    const { snap, behind } = hunter ? await hunter.snapshotWithin(this.opts.catchUpAfterMs) : { snap: null, behind: false };
    const walk = new SubmissionWalk(
      { pool: this.pool, blobs: this.blobs, store: this.store, hunter, snap, log, lane: analysisLane(submission) },
      { limits: this.opts.extraction, analysisTimeoutMs: this.opts.analysisTimeoutMs, ...(this.opts.indexMaxBytes !== undefined ? { indexMaxBytes: this.opts.indexMaxBytes } : {}) },
      submission.password,
    );
    // Read only for the rules' variables (new_file, submissions): skipped when nothing is hunted.
    const known = snap ? await this.store.getFile(submission.sha256) : null;
    const result = await walk.run({ path, sha256: submission.sha256, size: submission.size, name: submission.name }, known);
    const changed = snap && behind ? await hunter!.changedSince(snap) : null;
    const catchUp: CatchUp = changed?.rulesets ?? [];
    if (catchesUp(catchUp)) {
      result.matches = result.matches.filter((m) => !inCatchUp(catchUp, m.rulesetId));
      log.debug({ submission: submissionId, rulesets: catchUp === 'all' ? 'all' : catchUp.length }, 'scanned before ruleset changes compiled: they scan late');
    }
    // Community rulesets' matches make the file's verdict, Livehunt's its notifications; the
    // rulesets of both are read once (only when something matched).
    const { community, livehunt } = splitCommunity(result.matches, snap);
    const rulesets = await matchedRulesets(this.store, result.matches);
    const inSubfile = (m: RawMatch) => result.inSubfile.has(m);
    const notifications = buildNotifications(submission, livehunt, rulesets, now(), { matchInSubfile: inSubfile });
    const verdict = snap ? { communityScan: communityScan(snap, communityMatches(community, rulesets, inSubfile), now()) } : {};
    const stored = await this.store.completeAnalysis(job.id, submissionId, result.analysis, now(), notifications, {
      ...verdict,
      emails: this.opts.emails,
      emailDelayMs: this.opts.emailDelayMs,
      subfiles: result.subfiles,
      indexed: result.indexed,
      ...this.lateScan(hunter, submissionId, result.hunted, catchUp, changed?.generation),
    });
    if (stored.stored.length > 0) this.opts.onNotifications?.(stored.stored.length);
    if (this.opts.indexMaxBytes !== undefined) this.opts.onIndexed?.(result.indexed.length, result.indexSkipped);
    if (stored.stored.length > 0 || stored.gone > 0 || Object.keys(stored.rateLimited).length > 0) {
      log.debug({ sha256: submission.sha256, notifications: stored.stored.length, gone: stored.gone, rateLimited: stored.rateLimited }, 'hunting notifications');
    }
  }

  /**
   * The late scan of quarantined sets, if any is quarantined now (asked after the walk: it may
   * have quarantined one, whose matches on these files its cut-off scan lost), and of the
   * rulesets changed after the walk's snapshot.
   */
  private lateScan(hunter: Hunter | null, submissionId: number, files: HuntedFile[], catchUp: CatchUp, generation?: number): { followUp?: FollowUpJob } {
    if (!hunter || files.length === 0 || (!hunter.scansLate() && !catchesUp(catchUp))) return {};
    const late = files.map((f) => ({ sha256: f.sha256, depth: f.depth, variables: scanVariables(f.context, f.analysis) }));
    return { followUp: lateScanJob(submissionId, late, catchUp, generation) };
  }

  /**
   * The analysis fails, saying why, and the job is kept for `trawl jobs retry`: completing it
   * as an `unknown` file would hide that nothing was analysed or hunted.
   */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    const failure = { ...describeFailure(err), date: now() };
    log.error({ submission: job.payload.submissionId, code: failure.code }, 'analysis failed: kept for `trawl jobs retry`');
    await this.store.failAnalysis(job.id, Number(job.payload.submissionId), failure, rawError(err));
  }
}
