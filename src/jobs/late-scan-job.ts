// The `late-scan` job: rulesets scan a submission's files after its analysis completed, in a
// pool lane of their own that never takes every thread. Two kinds of rulesets scan late:
// - quarantined ones (found making scans slow): their owner waits for their matches; nobody
//   else waits for them;
// - rulesets changed after the snapshot an analysis scanned with, when their compile took longer
//   than the analysis would wait (rulesCatchUpAfter: an import of hundreds of rulesets): they scan
//   once compiled, and the upload did not wait for the compile.
// Community rulesets among them update the file's verdict instead of notifying (community-verdicts.ts).
// Queued by the
// transaction that completes the analysis, so a crash loses no late scan; its notifications and
// its removal are one transaction, and a scan run twice stores nothing twice (the unique key of
// a notification).
import type { Logger } from 'pino';
import { buildNotifications, matchedRulesets } from '../hunting/scan/notification-builder.js';
import { catchesUp, type CatchUp, type Hunter } from '../hunting/scan/hunter.js';
import { communityMatches, splitCommunity } from '../hunting/scan/community-verdicts.js';
import type { RulesSnapshot } from '../hunting/scan/rules-catalog.js';
import type { HuntResult, RawMatch } from '../hunting/engine/rules-artifact.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { CommunityMatch, CommunityUpdate, FollowUpJob, Job, Store } from '../store/store.js';
import type { HuntFileTask } from '../extraction/walk-tasks.js';
import { rawError } from './job-failure.js';
import type { JobHandler } from './job-runner.js';
import type { LateFile } from '../extraction/submission-walk.js';
import type { WorkerPool } from '../threads/worker-pool.js';

export const LATE_LANE = 'late';

/**
 * The follow-up job of an analysis whose files quarantined sets, and the rulesets of `catchUp`
 * once the changes up to `generation` are compiled, are to scan.
 */
export function lateScanJob(submissionId: number, files: LateFile[], catchUp: CatchUp = [], generation?: number): FollowUpJob {
  const catching = catchesUp(catchUp) ? { catchUp, generation } : {};
  return { kind: 'late-scan', payload: { submissionId, files, ...catching }, lane: LATE_LANE };
}

export interface LateScanOptions {
  /** Late scans running at once; below the pool's size, so other work always has a thread. */
  maxRunning: number;
  emails: boolean;
  emailDelayMs: number;
  /** As AnalyzeJobOptions.onNotifications. */
  onNotifications?: (count: number) => void;
}

const now = () => Math.floor(Date.now() / 1000);

export class LateScanJob implements JobHandler {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: WorkerPool,
    private readonly hunter: Hunter,
    private readonly opts: LateScanOptions,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const submission = await this.store.getSubmission(Number(job.payload.submissionId));
    const files = (job.payload.files ?? []) as LateFile[];
    const catchUp = (job.payload.catchUp ?? []) as CatchUp;
    // Caught-up rulesets wait for the compile of the changes the analysis did not wait for (not
    // for later ones: an import goes on changing rulesets); quarantined ones scan as they are now.
    const generation = job.payload.generation;
    const snap = typeof generation === 'number' ? await this.hunter.snapshotAt(generation) : await this.hunter.snapshot();
    // The quarantined sets as they are now: one released meanwhile scanned with the others.
    const task = this.hunter.lateTask(snap, catchUp);
    // Only quarantined sets may hold a thread for scanTimeout.
    const heavy = this.hunter.scansLate();
    if (!submission || !task) return void await this.store.completeJob(job.id, []);
    const matches: RawMatch[] = [];
    const inSubfile = new Set<RawMatch>();
    for (const f of [...files].sort((a, b) => a.depth - b.depth)) {
      const path = await this.blobs.localPath(f.sha256);
      if (!path) continue;
      const hunt: HuntFileTask = { kind: 'hunt', path, hunt: task, variables: f.variables };
      const result = await this.pool.run<HuntResult>(hunt, [], {
        timeoutMs: this.hunter.deadlineMs(task), lane: LATE_LANE, maxRunning: this.opts.maxRunning,
        // Rulesets known to be slow: on any file, the thread may be gone for scanTimeout.
        heavy,
      });
      for (const m of await this.hunter.settle(snap, result, { path, sha256: f.sha256 })) {
        // The analysis stored the other rulesets' matches in the sets caught up with.
        if (!this.hunter.keepsLate(m, catchUp)) continue;
        matches.push(m);
        if (f.depth > 0) inSubfile.add(m);
      }
    }
    const { community, livehunt } = splitCommunity(matches, snap);
    const rulesets = await matchedRulesets(this.store, matches);
    const sub = (m: RawMatch) => inSubfile.has(m);
    const list = buildNotifications(submission, livehunt, rulesets, now(), { matchInSubfile: sub });
    const stored = await this.store.completeJob(job.id, list, {
      emails: this.opts.emails, emailDelayMs: this.opts.emailDelayMs, ...this.verdict(snap, submission.sha256, catchUp, communityMatches(community, rulesets, sub)),
    });
    if (stored.stored.length > 0) this.opts.onNotifications?.(stored.stored.length);
    log.debug({ submission: submission.id, files: files.length, notifications: stored.stored.length }, 'late scan done');
  }

  /**
   * The community rulesets this scan ran (those caught up with, quarantined ones that matched)
   * replace their part of the file's verdict; nothing when no community ruleset is enabled.
   */
  private verdict(snap: RulesSnapshot, sha256: string, catchUp: CatchUp, found: CommunityMatch[]): { community?: CommunityUpdate } {
    if (snap.community.size === 0) return {};
    const rescanned = catchUp === 'all' ? 'all' : [...new Set([...catchUp, ...found.map((m) => m.rulesetId)])];
    return { community: { sha256, rescanned, scan: { date: now(), matches: found } } };
  }

  /**
   * Kept as failed for `trawl jobs retry` (dropping it lost its rulesets' matches without a
   * word). The analysis itself completed, so it stays completed.
   */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    log.error({ submission: job.payload.submissionId }, 'late scan failed: kept for `trawl jobs retry`');
    await this.store.failJob(job.id, rawError(err));
  }
}
