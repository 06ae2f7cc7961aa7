// The `content-index` job keeps the content index in shape: it indexes files stored before the
// index (or analysed where indexing was off), turns files indexed since the last segment into a
// new segment, merges segments of one level four at a time (so a search reads few), and deletes
// segments retired long enough ago that no search can still be reading them. One at a time in the
// deployment (its key); every worker process queues it every few seconds (ContentIndexer), and
// it queues itself again while work is left. A segment found unreadable (gone from the blob store,
// corrupt, or of an older format after an upgrade) starts the index over from the stored files.
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { ContentIndexSegment, Job, Store } from '../store/store.js';
import type { WorkerPool } from '../threads/worker-pool.js';
import type { BuildSegmentTask, GramsTask, MergeSegmentsTask, WrittenSegment } from '../content-index/index-tasks.js';
import type { JobHandler } from './job-runner.js';
import { segmentProblem } from '../content-index/segment.js';

export const CONTENT_INDEX_JOB_KIND = 'content-index';
export const CONTENT_INDEX_LANE = 'content-index';

export interface ContentIndexJobOptions {
  /** Files larger are not indexed (always scanned). */
  maxIndexBytes: number;
  /** Pending files per new segment, at most. */
  segmentFiles: number;
  /** Segments of one level merged together. */
  mergeFanIn: number;
  /** Merges stop making segments of more files than this. */
  maxSegmentFiles: number;
  /** Retired segments are deleted this long after (searches that listed them may still read them). */
  retiredGraceSeconds: number;
  /** Files indexed per step of the catch-up of files stored before the index. */
  backfillBatch: number;
  /** How long one run works before it queues itself again. */
  runMs: number;
}

const now = () => Math.floor(Date.now() / 1000);

/** Above any analysis: index upkeep takes threads left over, like retrohunt. */
const PRIORITY = 900;

export class ContentIndexJob implements JobHandler {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: WorkerPool,
    private readonly opts: ContentIndexJobOptions,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const until = Date.now() + this.opts.runMs;
    let more = false;
    await this.checkSegments(log);
    for (;;) {
      const did = (await this.backfill(log)) + (await this.compact(log)) + (await this.merge(log));
      if (did === 0) break;
      if (Date.now() > until) {
        more = true;
        break;
      }
    }
    await this.dropRetired(log);
    await this.store.deleteJob(job.id);
    if (more) await this.store.enqueueJob(CONTENT_INDEX_JOB_KIND, {}, CONTENT_INDEX_JOB_KIND);
  }

  /**
   * Starts the index over when a live segment cannot be read: its files would otherwise be
   * missing from every search (searches and jobs refuse to use the index meanwhile: see
   * ContentIndexUnusableError). Every file is scanned by jobs until indexed again.
   */
  private async checkSegments(log: Logger): Promise<void> {
    for (const s of await this.store.listIndexSegments()) {
      const path = await this.blobs.localPath(s.blob);
      const problem = path ? segmentProblem(path, s.bytes) : 'missing from the blob store';
      if (problem === null) continue;
      const files = await this.store.resetContentIndex(now());
      log.error({ segment: s.blob, problem, files }, 'content index segment unreadable: the index starts over from the stored files');
      return;
    }
  }

  /** Nothing is lost: what was pending stays pending, and the next tick queues the job again. */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    log.error({ err }, 'content index upkeep failed every attempt: queued again at the next tick');
    await this.store.deleteJob(job.id);
  }

  private task<T>(task: object, heavy: boolean): Promise<T> {
    return this.pool.run<T>(task, [], { lane: CONTENT_INDEX_LANE, maxRunning: 1, priority: PRIORITY, heavy, background: true, timeoutMs: 30 * 60_000 });
  }

  /** Indexes a batch of analysed files the index never saw; returns how many. */
  private async backfill(log: Logger): Promise<number> {
    const files = await this.store.listFilesToIndex(null, this.opts.backfillBatch);
    if (files.length === 0) return 0;
    const indexed = [];
    for (const f of files) {
      const path = await this.blobs.localPath(f.sha256);
      // A file whose blob is gone cannot be read: not indexable, so searches still list it.
      const grams = path ? await this.task<Uint8Array | null>({ kind: 'grams', path, maxBytes: this.opts.maxIndexBytes } satisfies GramsTask, f.size > 1 << 20) : null;
      indexed.push({ sha256: f.sha256, grams });
    }
    await this.store.indexFiles(indexed);
    log.info({ files: files.length }, 'content index: indexed files stored before it');
    return files.length;
  }

  /** Writes files indexed since the last segment as a new segment; returns how many. */
  private async compact(log: Logger): Promise<number> {
    const rows = await this.store.listPendingGrams(0, this.opts.segmentFiles);
    if (rows.length === 0) return 0;
    // One file once per segment, even if indexed twice.
    const seen = new Set<string>();
    const files = rows.filter((r) => !seen.has(r.sha256) && seen.add(r.sha256)).map((r) => ({ sha256: r.sha256, grams: r.grams }));
    const segment = await this.write((out) => ({ kind: 'index-build', files, out }) satisfies BuildSegmentTask);
    await this.store.addIndexSegment({ blob: segment.sha256, files: files.length, bytes: segment.bytes, level: 0 }, rows.map((r) => r.seq), [], now());
    log.info({ files: files.length, bytes: segment.bytes }, 'content index: new segment');
    return rows.length;
  }

  /** Merges the oldest `mergeFanIn` segments of the lowest level that has that many; returns how many. */
  private async merge(log: Logger): Promise<number> {
    const byLevel = new Map<number, ContentIndexSegment[]>();
    for (const s of await this.store.listIndexSegments()) byLevel.set(s.level, [...(byLevel.get(s.level) ?? []), s]);
    for (const level of [...byLevel.keys()].sort((a, b) => a - b)) {
      const group = byLevel.get(level)!.slice(0, this.opts.mergeFanIn);
      if (group.length < this.opts.mergeFanIn) continue;
      const files = group.reduce((n, s) => n + s.files, 0);
      if (files > this.opts.maxSegmentFiles) continue;
      const paths: string[] = [];
      for (const s of group) {
        const p = await this.blobs.localPath(s.blob);
        if (!p) throw new Error(`content index segment ${s.blob} is missing from the blob store`);
        paths.push(p);
      }
      const segment = await this.write((out) => ({ kind: 'index-merge', paths, out }) satisfies MergeSegmentsTask);
      await this.store.addIndexSegment({ blob: segment.sha256, files, bytes: segment.bytes, level: level + 1 }, [], group.map((s) => s.id), now());
      log.info({ segments: group.length, files, bytes: segment.bytes, level: level + 1 }, 'content index: segments merged');
      return group.length;
    }
    return 0;
  }

  /** Has a thread write a segment in a scratch folder, then stores it as a blob. */
  private async write(task: (out: string) => object): Promise<WrittenSegment> {
    const dir = await this.blobs.scratchDir();
    try {
      const out = join(dir, 'segment');
      const written = await this.task<WrittenSegment>(task(out), true);
      await this.blobs.adopt([{ path: out, sha256: written.sha256 }]);
      return written;
    } finally {
      await this.blobs.dropScratch(dir).catch(() => undefined);
    }
  }

  private async dropRetired(log: Logger): Promise<void> {
    const old = await this.store.listIndexSegments(now() - this.opts.retiredGraceSeconds);
    if (old.length === 0) return;
    const live = new Set((await this.store.listIndexSegments()).map((s) => s.blob));
    // A merge of the same files can give a retired segment's exact bytes back: keep a live blob.
    for (const s of old) if (!live.has(s.blob)) await this.blobs.delete(s.blob);
    await this.store.dropIndexSegments(old.map((s) => s.id));
    log.info({ segments: old.length }, 'content index: retired segments deleted');
  }
}

/** Queues the `content-index` job every `intervalMs` (one runs at a time in the deployment). */
export class ContentIndexer {
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: Store,
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly onQueued?: () => void,
  ) {}

  start(): void {
    // One enqueue in flight at most: while the database is locked or unreachable, ticks must
    // not pile writes up behind the ones users wait for. The first after one interval: a start
    // has enough to write.
    let inFlight = false;
    const tick = () => {
      if (inFlight) return;
      inFlight = true;
      this.store.enqueueJob(CONTENT_INDEX_JOB_KIND, {}, CONTENT_INDEX_JOB_KIND).then(
        (queued) => queued && this.onQueued?.(),
        (err: unknown) => this.log.warn({ err }, 'content index job not queued'),
      ).finally(() => {
        inFlight = false;
      });
    };
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
