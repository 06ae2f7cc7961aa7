// Composition root: config -> store, blobs, worker pools -> intake, API, hunting and the job
// runner. Adapters are chosen here and nowhere else.
import type { FastifyInstance } from 'fastify';
import type { Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { buildApi, routesOf, type ApiRoute } from './api/app.js';
import { Authenticator } from './api/auth.js';
import { QuotaMeter } from './users/quota-meter.js';
import { Quotas } from './users/quotas.js';
import { startProbeServer } from './api/probe-server.js';
import { readTlsPair, reloadTls } from './api/tls.js';
import { FileDocuments } from './stream/file-documents.js';
import { LocalStreamPages } from './stream/stream-pages.js';
import { ThreadedStreamPages } from './stream/threaded-stream-pages.js';
import type { Config } from './config.js';
import { EmailJob } from './delivery/email-job.js';
import { slowRulesetMail } from './delivery/email-messages.js';
import { Mailer } from './delivery/mailer.js';
import { RetrohuntEmailJob } from './delivery/retrohunt-email-job.js';
import { ZipFileJob } from './delivery/zip-file-job.js';
import { ZipFiles } from './delivery/zip-files.js';
import { ZIP_FILE_JOB_KIND, ZIP_FILE_LANE } from './model/zip-file.js';
import { Hunter } from './hunting/scan/hunter.js';
import { RulesWarmer } from './hunting/scan/rules-warmer.js';
import { HuntingRulesets } from './hunting/rulesets/hunting-rulesets.js';
import { RetrohuntJobs } from './hunting/retrohunt/retrohunt-jobs.js';
import { RuleCompiler } from './hunting/engine/rule-compiler.js';
import { RulesCatalog } from './hunting/scan/rules-catalog.js';
import { DigestPool } from './intake/digests.js';
import { Intake } from './intake/intake.js';
import { IntakeLoad } from './intake/intake-load.js';
import { SourceKeys, countryLookup, headerCountry, maxmindCountry, type CountryLookup } from './intake/source.js';
import { AnalyzeJob } from './jobs/analyze-job.js';
import { LATE_LANE, LateScanJob } from './jobs/late-scan-job.js';
import { RetrohuntJob } from './jobs/retrohunt-job.js';
import { RETROHUNT_EMAIL_JOB_KIND, RETROHUNT_JOB_KIND, RETROHUNT_LANE } from './model/retrohunt.js';
import { JobRunner } from './jobs/job-runner.js';
import { WorkerPool } from './threads/worker-pool.js';
import { ContentIndex } from './content-index/content-index.js';
import { ContentSearch, contentSearchThreads } from './content-index/content-search.js';
import { CONTENT_INDEX_JOB_KIND, ContentIndexer, ContentIndexJob } from './jobs/content-index-job.js';
import { rootLogger } from './log.js';
import { bundledLibmagic } from './analysis/analyzers/libmagic.js';
import { Metrics } from './metrics/metrics.js';
import type { BlobStore } from './store/blobs/blob-store.js';
import { FsBlobStore } from './store/blobs/fs-blob-store.js';
import { S3BlobStore, parseS3Url } from './store/blobs/s3-blob-store.js';
import { ProcessSpace } from './store/blobs/process-space.js';
import { TimedBlobStore } from './store/blobs/timed-blob-store.js';
import { checkBlobStoreMarker } from './deployment/blob-store-marker.js';
import { ProcessRegistry, processId } from './deployment/process-registry.js';
import { join } from 'node:path';
import { openStore } from './store/open-store.js';
import type { Store } from './store/store.js';
import { HuntingNotifications } from './stream/hunting-notifications.js';
import { IocDeleteJob, IocStream } from './stream/ioc-stream.js';
import { LiveFeed } from './stream/live-feed.js';
import { Retention } from './stream/retention.js';
import { ensureFirstAdmin } from './users/user-admin.js';
import { trawlVersion, versions } from './version.js';
import { STREAM_SERIALIZER_MODULE, streamSerializer } from './api/stream-serializer.js';

export interface Service {
  /** Base URL the API listens on (null when this process runs no API). */
  url: string | null;
  /** Base URL of the probe listener (null without probePort). */
  probeUrl: string | null;
  /** API key of the admin user created on this first start; null otherwise. */
  adminKey: string | null;
  store: Store;
  log: Logger;
  /** The hunting rules catalog of this process's workers (null for the API role). */
  catalog: RulesCatalog | null;
  /** The API's routes (none when this process runs no API). */
  routes: readonly ApiRoute[];
  /**
   * Reads tlsCert and tlsKey again for the API's next handshakes (SIGHUP); false when this
   * process serves no HTTPS, or the files are not usable (the previous pair stays, logged).
   */
  reloadTls(): boolean;
  close(): Promise<void>;
}

/** How long an API process keeps a user's quotas before reading them again (changes made elsewhere). */
const QUOTA_PLAN_TTL_MS = 5000;
/** How often the live feed looks for notifications stored by any process. */
const FEED_POLL_MS = 100;
/** Uploads arriving faster than this are bulk intake: subfiles wait (config.subfileHold). */
const BULK_INTAKE_BYTES_PER_SECOND = 32 * 1024 * 1024;
/** Threads of an API process's content searches. */
const CONTENT_SEARCH_THREADS = 1;
/** How long a user's last upload counts as "several users have work" for the pool's reserve. */
const RESERVE_MS = 10_000;

async function countryLookupOf(config: Config): Promise<CountryLookup> {
  const lookups: CountryLookup[] = [];
  if (config.countryHeader) lookups.push(headerCountry(config.countryHeader));
  if (config.geoipDatabase) lookups.push(await maxmindCountry(config.geoipDatabase));
  return countryLookup(lookups);
}

/**
 * Closes the API gracefully: requests in flight may finish, keep-alive connections are closed as
 * soon as they fall idle (fastify closes only those idle when it starts closing, and would wait
 * for the others' 72 s keep-alive timeout), and after 10 s whatever is left is cut.
 */
async function closeApi(app: FastifyInstance): Promise<void> {
  const closing = app.close();
  const idle = setInterval(() => app.server.closeIdleConnections(), 100);
  const force = setTimeout(() => app.server.closeAllConnections(), 10_000);
  try {
    await closing;
  } finally {
    clearInterval(idle);
    clearTimeout(force);
  }
}

/** How often a hunting process looks for ruleset changes to compile ahead of the uploads. */
const RULES_WATCH_MS = 500;

/**
 * The blob store the configuration names: object storage, else a folder. `cacheBytes` and
 * `cacheMinAgeMs` override the S3 store's local cache (trawl migrate, which never reads back what
 * it writes, keeps none).
 */
export function blobStoreOf(config: Config, id: string, opts: { cacheBytes?: number; cacheMinAgeMs?: number } = {}): BlobStore {
  if (!config.blobUrl) return new FsBlobStore(config.blobPath, id);
  const style = config.s3AddressingStyle === 'auto' ? (config.s3Endpoint ? 'path' : 'virtual') : config.s3AddressingStyle;
  return new S3BlobStore({
    ...parseS3Url(config.blobUrl),
    endpoint: config.s3Endpoint,
    region: config.s3Region,
    pathStyle: style === 'path',
    credentials: config.s3AccessKeyId ? { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey } : null,
    space: new ProcessSpace(join(config.dataDir, 'tmp'), id),
    cacheBytes: config.blobCacheBytes,
    ...opts,
  });
}

export async function startService(config: Config, log: Logger = rootLogger(config.logLevel)): Promise<Service> {
  log.info({ ...versions(), role: config.role }, 'Trawl starting');
  if (config.role !== 'api' && !bundledLibmagic()) {
    log.warn("native/libmagic is not built: files are typed with Debian's libmagic, 2-3x slower (`make deps` builds it)");
  }
  // Before anything else: a certificate that cannot be used refuses the start with why.
  const tlsFiles = config.tlsCert && config.role !== 'worker' ? { cert: config.tlsCert, key: config.tlsKey } : null;
  const tls = tlsFiles ? readTlsPair(tlsFiles) : undefined;
  const store = await openStore(config.databaseUrl, { poolSize: config.databasePoolSize, preparedStatements: config.databasePreparedStatements, statementTimeoutMs: config.databaseStatementTimeout * 1000 });
  for (const missing of await store.missingIndexes()) log.warn(missing);
  // Counters cost next to nothing, so they always count; `metrics off` only stops exposing them
  // (and Node's own metrics, and the blob store's timing, which are not free).
  const metrics = new Metrics({
    jobQueue: () => store.jobQueueStats(),
    nodeMetrics: config.metrics !== 'off',
    info: { version: trawlVersion(), role: config.role },
  });
  const id = processId();
  const base = blobStoreOf(config, id);
  const blobs: BlobStore = config.metrics === 'off' ? base : new TimedBlobStore(base, metrics);
  const closers: [string, () => Promise<void>][] = [['database', () => store.close()], ['blob store', async () => blobs.close()]];
  const close = async () => {
    for (const [what, c] of closers.reverse()) {
      const started = Date.now();
      await c().catch((err) => log.error({ err, step: what }, 'shutdown step failed'));
      if (Date.now() - started > 1000) log.warn({ step: what, ms: Date.now() - started }, 'shutdown step was slow');
    }
  };
  // Started now, to start beside the rest (a thread loads its modules for ~0.2 s); awaited with the API.
  const pagesThread = config.role !== 'worker' && config.streamPageThread && config.databaseUrl !== 'sqlite::memory:'
    ? ThreadedStreamPages.start(config.databaseUrl, { poolSize: Math.min(4, config.databasePoolSize), preparedStatements: config.databasePreparedStatements, statementTimeoutMs: config.databaseStatementTimeout * 1000 }, STREAM_SERIALIZER_MODULE, log.child({ component: 'stream-pages' }))
    : null;
  void pagesThread?.catch(() => undefined); // its failure is reported where it is awaited
  closers.push(['IoC Stream page thread', async () => (await pagesThread?.catch(() => null))?.close()]);
  // The admin created by this start: if the start then fails (say, its port is taken), it is
  // removed again, so that the next start creates one and shows its key.
  let first: Awaited<ReturnType<typeof ensureFirstAdmin>> = null;
  try {
    await checkBlobStoreMarker(store, blobs, log);
    let runner: JobRunner | null = null;
    const registry = new ProcessRegistry(store, blobs, id, config.role as 'all' | 'api' | 'worker', () => runner?.jobsHeld ?? 0, log.child({ component: 'processes' }));
    await registry.start();
    closers.push(['process registry', () => registry.stop()]);
    first = await ensureFirstAdmin(store);
    const compiler = new RuleCompiler(undefined, config.workerNice, metrics);
    closers.push(['rule compiler', () => compiler.close()]);
    const mailer = config.smtpUrl ? new Mailer({ smtpUrl: config.smtpUrl, from: config.smtpFrom }) : null;
    const notifications = new HuntingNotifications(store);
    const stream = new IocStream(store, notifications);
    if (mailer) closers.push(['mailer', () => mailer.close()]);
    // Set with the API; this process's analyses nudge it so followers need not wait for a poll.
    let feed: LiveFeed | undefined;
    let catalog: RulesCatalog | null = null;
    // Read by Retrohunt jobs (workers) and content searches (the API): one per process, its segments opened once.
    const contentIndex = config.contentIndex ? new ContentIndex(store, blobs) : null;
    if (contentIndex) closers.push(['content index', async () => contentIndex.close()]);
    // Uploads and analysis share this process's cores only when it runs both.
    const intakeLoad = config.role === 'all' ? new IntakeLoad(BULK_INTAKE_BYTES_PER_SECOND) : null;
    if (config.role !== 'api') {
      // Embedded mode owns the database: jobs a killed predecessor held can run again at once.
      if (store.dialect === 'sqlite') {
        const n = await store.requeueRunningJobs();
        if (n > 0) log.info({ jobs: n }, 'resuming analyses interrupted by the last shutdown');
      }
      const pool = new WorkerPool({
        script: new URL('./jobs/analysis-worker.js', import.meta.url),
        size: config.workerCount,
        taskTimeoutMs: config.analysisTimeout * 1000,
        nice: config.workerNice,
        // Subfiles (priority = depth >= 1) wait while this process receives uploads in bulk.
        // While several users (or the late scans) have work, one thread stays free of large files.
        reserveMs: RESERVE_MS,
        ...(intakeLoad && config.subfileHold > 0 ? { holdBack: { fromPriority: 1, active: () => intakeLoad.busy, maxWaitMs: config.subfileHold * 1000 } } : {}),
      });
      closers.push(['analysis threads', () => pool.close()]);
      const huntLog = log.child({ component: 'hunting' });
      const warmer = new RulesWarmer(pool, huntLog);
      const cat = new RulesCatalog(store, compiler, {
        shardSize: config.rulesetsPerShard,
        rebuildDelayMs: config.shardRebuildDelay * 1000,
        // A shard's worth: below it, changes wait in deltas until they stop for shardRebuildDelay.
        maxDelta: config.rulesetsPerShard,
        onPublish: (snap) => warmer.publish(snap),
        // Changes in a burst publish about once a second: each publication costs every scanning
        // thread a load. A lone change still compiles at once.
        refreshGapMs: 1000,
      }, huntLog);
      catalog = cat;
      closers.push(['rules catalog', () => cat.close()]);
      const hunter = new Hunter(store, catalog, compiler, {
        scanTimeoutMs: config.scanTimeout * 1000,
        maxScanBytes: config.maxScanBytes,
        slowScanMs: config.slowScan * 1000,
      }, huntLog, async (r, scan) => {
        const owner = await store.getUserById(r.ownerId);
        const to = [...new Set([...(owner?.email ? [owner.email] : []), ...r.notificationEmails])];
        if (mailer && to.length > 0) await mailer.send(slowRulesetMail(r, scan, to));
      }, metrics);
      const onNotifications = (n: number) => {
        metrics.notificationsStored(n);
        feed?.nudge();
      };
      const lateThreads = Math.max(1, config.workerCount - 1);
      const retrohunt = new RetrohuntJob(store, blobs, pool, compiler, {
        maxRunning: config.workerCount,
        scanTimeoutMs: config.scanTimeout * 1000,
        maxScanBytes: config.maxScanBytes,
        batchSize: config.retrohuntBatch,
        verifyIndex: config.retrohuntVerifyIndex,
      }, contentIndex);
      const handlers = {
        analyze: new AnalyzeJob(store, blobs, pool, hunter, {
          analysisTimeoutMs: config.analysisTimeout * 1000,
          catchUpAfterMs: config.rulesCompileWaitMs,
          emails: mailer !== null,
          emailDelayMs: config.emailDelay * 1000,
          extraction: {
            maxDepth: config.maxExtractionDepth,
            maxFiles: config.maxExtractedFiles,
            maxBytes: config.maxExtractedBytes,
            maxRatio: config.maxCompressionRatio,
            timeoutMs: config.extractionTimeout * 1000,
            passwords: config.archivePasswords,
          },
          onNotifications,
          onIndexed: (taken: number, skipped: number) => metrics.contentGrams(taken, skipped),
          ...(config.contentIndex ? { indexMaxBytes: config.maxScanBytes } : {}),
        }),
        'late-scan': new LateScanJob(store, blobs, pool, hunter, {
          // Never every thread: the other lanes keep one at least.
          maxRunning: lateThreads,
          emails: mailer !== null,
          emailDelayMs: config.emailDelay * 1000,
          onNotifications,
        }),
        // Retrohunt scans run on every thread at the lowest priority; their large files leave one free while uploads have work.
        [RETROHUNT_JOB_KIND]: retrohunt,
        'ioc-delete': new IocDeleteJob(store, stream),
        // Index upkeep: one at a time in the deployment, on one thread at most.
        [CONTENT_INDEX_JOB_KIND]: new ContentIndexJob(store, blobs, pool, {
          maxIndexBytes: config.maxScanBytes, segmentFiles: 4096, mergeFanIn: 4, maxSegmentFiles: 1 << 20,
          retiredGraceSeconds: config.contentIndexGrace, backfillBatch: 256, runMs: 30_000,
        }),
        ...(mailer ? { email: new EmailJob(store, mailer, config.publicUrl) } : {}),
        // Always handled: without an SMTP server the job's e-mail is skipped with a log line.
        [RETROHUNT_EMAIL_JOB_KIND]: new RetrohuntEmailJob(store, mailer, config.publicUrl),
        // ZIP files are packed one at a time per process, on one thread (zip-file-job.ts).
        [ZIP_FILE_JOB_KIND]: new ZipFileJob(store, blobs, pool, { retentionSeconds: config.zipFileRetention * 3600, timeoutMs: 30 * 60_000 }),
      };
      runner = new JobRunner(
        store,
        handlers,
        // Jobs spend most of their time waiting (for a thread, for the database), so many run at
        // once; the pool queues their CPU work. A backlog stays in the database, not in memory.
        // Late scans hold only a little more than they can run: each may take scanTimeout.
        {
          workerId: id,
          concurrency: Math.max(16, config.workerCount * 8), leaseMs: config.jobLease * 1000, pollMs: store.dialect === 'sqlite' ? 1000 : 250, maxAttempts: config.jobMaxAttempts, retryDelayMs: config.jobRetryDelayMs,
          laneCaps: { [LATE_LANE]: lateThreads + 1, [RETROHUNT_LANE]: lateThreads + 1, [ZIP_FILE_LANE]: 2 },
        },
        log.child({ component: 'jobs' }),
        metrics,
      );
      // Compile the rulesets, and have every thread load them, before the first scan.
      await warmer.warm(await catalog.snapshot());
      // From now on changes compile as they are committed, not when an upload's scan needs them.
      catalog.watch(RULES_WATCH_MS);
      runner.start();
      const r = runner;
      if (config.contentIndex) {
        const indexer = new ContentIndexer(store, config.contentIndexInterval * 1000, log.child({ component: 'content-index' }), () => r.wake());
        indexer.start();
        closers.push(['content index upkeep', async () => indexer.stop()]);
      }
      closers.push(['job runner', async () => {
        // Retrohunt jobs may run for hours: they pause (and resume at the next start) rather than hold the shutdown.
        retrohunt.stop();
        await r.stop();
      }]);
      const retention = new Retention(store, config.notificationRetention, log.child({ component: 'retention' }));
      retention.start();
      closers.push(['retention', () => retention.stop()]);
    }
    let app: FastifyInstance | null = null;
    let url: string | null = null;
    if (config.role !== 'worker') {
      const r = runner;
      // Two digest threads: large uploads hash on the other core while this thread parses HTTP.
      const hashing = new DigestPool(2);
      closers.push(['digest threads', () => hashing.close()]);
      const intake = new Intake(store, blobs, hashing, await SourceKeys.open(store), await countryLookupOf(config), config, (submission, reanalysis) => {
        if (!reanalysis) metrics.uploadAccepted(submission.size);
        r?.wake();
      }, intakeLoad);
      const rulesets = new HuntingRulesets(store, compiler, { maxRulesBytes: config.maxRulesetBytes, defaultLimit: config.defaultNotificationLimit }, notifications.sharing);
      const retrohunts = new RetrohuntJobs(store, compiler, { maxRulesBytes: config.maxRulesetBytes, onCreated: () => r?.wake() });
      feed = new LiveFeed(store, FEED_POLL_MS, log.child({ component: 'live-feed' }));
      const fileDocuments = new FileDocuments(store, streamSerializer);
      // An in-memory database has no second connection to give a thread.
      const streamPages = (await pagesThread) ?? new LocalStreamPages(store, streamSerializer, notifications, fileDocuments);
      // Content searches scan on a thread of their own, at the analysis threads' nice value: the
      // event loop keeps answering while one runs, and uploads' analysis is not slowed by them.
      // One thread: searches are rare next to lookups, and several take turns on it (by user).
      const searchThreads = contentIndex ? contentSearchThreads(CONTENT_SEARCH_THREADS, config.workerNice) : null;
      if (searchThreads) closers.push(['content search threads', () => searchThreads.close()]);
      const contentSearch = new ContentSearch(store, blobs, contentIndex, searchThreads, { maxScanBytes: config.maxScanBytes });
      const meterLog = log.child({ component: 'quota-meter' });
      const meter = new QuotaMeter(store, { syncMs: config.quotaSyncMs, planTtlMs: QUOTA_PLAN_TTL_MS }, (err) => meterLog.warn({ err }, 'could not sync API request counts; kept for the next try'));
      meter.start();
      // Closed after the API (closers run last first): the last counts are sent once requests stop.
      closers.push(['quota meter', () => meter.stop()]);
      const quotas = new Quotas(store, meter);
      app = await buildApi({
        config, store, blobs, intake, rulesets, retrohunts, notifications, contentSearch, stream, feed, fileDocuments, streamPages, auth: new Authenticator(store), meter, quotas, logger: log, metrics, tls,
        zipFiles: new ZipFiles(store, blobs, () => r?.wake()),
      });
      await app.listen({ host: config.host, port: config.port });
      const a = app.server.address();
      url = typeof a === 'object' && a ? `${tls ? 'https' : 'http'}://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : null;
      const api = app;
      closers.push(['API', () => closeApi(api)]);
      // Runs before the API closes: followers of the live feed would keep it open.
      const f = feed;
      closers.push(['live feed', async () => f.close()]);
    }
    let probeUrl: string | null = null;
    if (config.probePort > 0) {
      // Last, so that it answers once the process serves (and closes first).
      const probes = await startProbeServer(
        { store, blobs, role: config.role, metrics: config.metrics === 'off' ? null : metrics },
        { host: config.probeHost || config.host, port: config.probePort },
        log.child({ component: 'probes' }),
      );
      probeUrl = probes.url;
      closers.push(['probe listener', () => probes.close()]);
    }
    const server = app?.server;
    const reload = () => (tlsFiles && server ? reloadTls(server as unknown as TlsServer, tlsFiles, log) : false);
    return { url, probeUrl, adminKey: first?.apikey ?? null, store, log, catalog, routes: app ? routesOf(app) : [], reloadTls: reload, close };
  } catch (e) {
    if (first) await store.deleteUser(first.user.id).catch((err) => log.error({ err }, 'could not remove the admin this failed start created'));
    await close();
    throw e;
  }
}
