// Prometheus metrics of one process (docs/operations.md lists them). A registry of its own, not
// prom-client's global one, so several services started in one process (the tests) never share or
// collide. The hot paths get counters and histogram children bound once here: counting an upload or
// a scan is a field update, no label lookup and no allocation.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JobQueueStats } from '../model/records.js';

export interface MetricsOptions {
  /** Reads the job queue (the whole database's, so every process reports the same); called on each scrape. */
  jobQueue?: () => Promise<readonly JobQueueStats[]>;
  /** Node's own metrics (CPU, memory, GC, event-loop lag): off when nothing will ever scrape them. */
  nodeMetrics?: boolean;
  /** Labels of trawl_build_info. */
  info?: { version: string; role: string };
}

/** Blob store operations timed by TimedBlobStore (store/blobs/timed-blob-store.ts). */
export const BLOB_OPERATIONS = ['create', 'commit', 'flush', 'abort', 'has', 'read', 'local_path', 'adopt', 'drop_scratch', 'sweep', 'check', 'delete'] as const;
export type BlobOperation = (typeof BLOB_OPERATIONS)[number];

export type JobOutcome = 'completed' | 'failed' | 'retried';

/** How long a scrape waits for the job queue before leaving its gauges out. */
const QUEUE_READ_TIMEOUT_MS = 2000;

type Child = { inc(n?: number): void };
type Observer = { observe(v: number): void };

export class Metrics {
  readonly registry = new Registry();
  private readonly uploads: Counter;
  private readonly uploadBytes: Counter;
  private readonly jobs: Counter<'kind' | 'outcome'>;
  private readonly notifications: Counter;
  private readonly scans: Histogram;
  private readonly compiles: Counter<'outcome'>;
  private readonly compileSeconds: Histogram;
  private readonly blobSeconds: Histogram<'operation'>;
  /** Children of `jobs` by kind, bound on first use: job kinds are few and fixed. */
  private readonly jobChildren = new Map<string, Record<JobOutcome, Child>>();
  private readonly blobChildren: Record<BlobOperation, Observer>;
  private readonly gramsTaken: Child;
  private readonly gramsSkipped: Child;
  private readonly compileOk: Child;
  private readonly compileError: Child;
  /** The queue read of the scrape under way, shared by the three gauges it fills. */
  private queueRead: Promise<readonly JobQueueStats[] | null> | null = null;
  /** Kinds seen in the queue before: reported as 0 once empty rather than vanishing. */
  private readonly kindsSeen = new Set<string>(['analyze']);

  constructor(private readonly opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.uploads = new Counter({ name: 'trawl_uploads_total', help: 'Uploads accepted (blob and submission durable, answered 200).', registers });
    this.uploadBytes = new Counter({ name: 'trawl_upload_bytes_total', help: 'Bytes of the uploads accepted.', registers });
    this.jobs = new Counter({
      name: 'trawl_jobs_finished_total',
      help: 'Jobs finished by kind (analyze, late-scan, email, ioc-delete) and outcome: completed, failed (given up after the last attempt), retried (an attempt failed and the job was put back).',
      labelNames: ['kind', 'outcome'], registers,
    });
    this.notifications = new Counter({ name: 'trawl_notifications_stored_total', help: 'Hunting notifications stored (by analyses and late scans).', registers });
    this.scans = new Histogram({
      name: 'trawl_scan_duration_seconds',
      help: 'YARA scans of one file with one compiled rule set, on a scanning thread.',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 90], registers,
    });
    this.compiles = new Counter({ name: 'trawl_rule_compiles_total', help: 'Compiles of rule sets for scanning (shards and deltas), by outcome: ok, error (the compile thread failed or timed out).', labelNames: ['outcome'], registers });
    this.compileSeconds = new Histogram({
      name: 'trawl_rule_compile_duration_seconds',
      help: 'Compiles of rule sets for scanning, including the wait for a compile thread.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300], registers,
    });
    this.blobSeconds = new Histogram({
      name: 'trawl_blob_operation_duration_seconds',
      help: 'Blob store operations by operation (a writer\'s commit includes its fsyncs and rename).',
      labelNames: ['operation'],
      buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    });
    const blobSeconds = this.blobSeconds;
    this.blobChildren = Object.fromEntries(BLOB_OPERATIONS.map((op) => [op, blobSeconds.labels(op)])) as unknown as Record<BlobOperation, Observer>;
    const grams = new Counter({
      name: 'trawl_content_index_grams_total',
      help: 'Files an analysis walked for the content index, by outcome: taken (their trigrams read, or found too large), skipped (the index held them already: a file submitted again, a known member).',
      labelNames: ['outcome'], registers,
    });
    this.gramsTaken = grams.labels('taken');
    this.gramsSkipped = grams.labels('skipped');
    this.compileOk = this.compiles.labels('ok');
    this.compileError = this.compiles.labels('error');
    this.queueGauges();
    if (opts.info) {
      new Gauge({ name: 'trawl_build_info', help: 'Always 1: the version and role of this process.', labelNames: ['version', 'role'], registers }).labels(opts.info.version, opts.info.role).set(1);
    }
    if (opts.nodeMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** An upload was acknowledged. */
  uploadAccepted(bytes: number): void {
    this.uploads.inc();
    this.uploadBytes.inc(bytes);
  }

  jobFinished(kind: string, outcome: JobOutcome): void {
    let c = this.jobChildren.get(kind);
    if (!c) {
      c = { completed: this.jobs.labels(kind, 'completed'), failed: this.jobs.labels(kind, 'failed'), retried: this.jobs.labels(kind, 'retried') };
      this.jobChildren.set(kind, c);
    }
    c[outcome].inc();
  }

  notificationsStored(n: number): void {
    if (n > 0) this.notifications.inc(n);
  }

  /** An analysis took the trigrams of `taken` files for the content index, and skipped `skipped` it held already. */
  contentGrams(taken: number, skipped: number): void {
    if (taken > 0) this.gramsTaken.inc(taken);
    if (skipped > 0) this.gramsSkipped.inc(skipped);
  }

  scanned(ms: number): void {
    this.scans.observe(ms / 1000);
  }

  ruleSetCompiled(ms: number, ok: boolean): void {
    (ok ? this.compileOk : this.compileError).inc();
    this.compileSeconds.observe(ms / 1000);
  }

  blobOperation(op: BlobOperation, ms: number): void {
    this.blobChildren[op].observe(ms / 1000);
  }

  /** The exposition: Prometheus text format, and its content type. */
  async exposition(): Promise<{ text: string; contentType: string }> {
    return { text: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  /**
   * Queue depth, jobs running and the oldest queued job's wait, by kind, read from the store when
   * scraped. Left out of a scrape when the store does not answer within 2 s (absent, not stale).
   */
  private queueGauges(): void {
    const registers = [this.registry];
    const read = () => (this.queueRead ??= this.readQueue().finally(() => (this.queueRead = null)));
    const gauge = (name: string, help: string, value: (r: JobQueueStats, now: number) => number) => new Gauge({
      name, help, labelNames: ['kind'], registers,
      async collect() {
        const readings = await read();
        this.reset();
        if (!readings) return;
        const now = Date.now();
        for (const r of readings) this.labels(r.kind).set(value(r, now));
      },
    });
    gauge('trawl_job_queue_depth', 'Jobs queued (waiting to run, or delayed: retries, e-mail digests), by kind; the whole database\'s, read on each scrape.', (r) => r.queued);
    gauge('trawl_jobs_running', 'Jobs held by a worker now, by kind; the whole database\'s.', (r) => r.running);
    gauge('trawl_jobs_failed', 'Jobs given up on and kept for `trawl jobs retry` (kind analyze: failed analyses), by kind; the whole database\'s.', (r) => r.failed);
    gauge('trawl_job_queue_oldest_age_seconds', 'How long the oldest queued job has been free to run, by kind (0: none waiting); the whole database\'s.',
      (r, now) => (r.oldestQueuedAt === null ? 0 : Math.max(0, now - r.oldestQueuedAt) / 1000));
  }

  private async readQueue(): Promise<readonly JobQueueStats[] | null> {
    if (!this.opts.jobQueue) return null;
    let timer: NodeJS.Timeout | undefined;
    try {
      const got = await Promise.race([
        this.opts.jobQueue(),
        new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), QUEUE_READ_TIMEOUT_MS))),
      ]);
      if (!got) return null;
      for (const r of got) this.kindsSeen.add(r.kind);
      const byKind = new Map(got.map((r) => [r.kind, r]));
      return [...this.kindsSeen].map((kind) => byKind.get(kind) ?? { kind, queued: 0, running: 0, failed: 0, oldestQueuedAt: null });
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }
}
