// Composition root: config -> store, blobs, worker pool -> intake, API and analysis runner.
// Adapters are chosen here and nowhere else.
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { buildApi } from './api/app.js';
import { Authenticator } from './api/auth.js';
import type { Config } from './config.js';
import { HuntingRulesets } from './hunting/hunting-rulesets.js';
import { DigestPool } from './intake/digests.js';
import { Intake } from './intake/intake.js';
import { SourceKeys, countryLookup, headerCountry, maxmindCountry, type CountryLookup } from './intake/source.js';
import { AnalysisRunner } from './jobs/analysis-runner.js';
import { WorkerPool } from './jobs/worker-pool.js';
import { rootLogger } from './log.js';
import { FsBlobStore } from './store/blobs/fs-blob-store.js';
import { openStore } from './store/open-store.js';
import type { FileAnalysis, Store } from './store/store.js';
import { ensureFirstAdmin } from './users/user-admin.js';

export interface Service {
  /** Base URL the API listens on (null when this process runs no API). */
  url: string | null;
  /** API key of the admin user created on this first start; null otherwise. */
  adminKey: string | null;
  store: Store;
  log: Logger;
  close(): Promise<void>;
}

async function countryLookupOf(config: Config): Promise<CountryLookup> {
  const lookups: CountryLookup[] = [];
  if (config.countryHeader) lookups.push(headerCountry(config.countryHeader));
  if (config.geoipDatabase) lookups.push(await maxmindCountry(config.geoipDatabase));
  return countryLookup(lookups);
}

export async function startService(config: Config, log: Logger = rootLogger(config.logLevel)): Promise<Service> {
  const store = await openStore(config.databaseUrl, { poolSize: config.databasePoolSize });
  const blobs = new FsBlobStore(config.blobPath);
  const closers: (() => Promise<void>)[] = [() => store.close()];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch((err) => log.error({ err }, 'shutdown step failed'));
  };
  try {
    const first = await ensureFirstAdmin(store);
    let runner: AnalysisRunner | null = null;
    if (config.role !== 'api') {
      // Embedded mode owns the database: jobs a killed predecessor held can run again at once.
      if (store.dialect === 'sqlite') {
        const n = await store.requeueRunningJobs();
        if (n > 0) log.info({ jobs: n }, 'resuming analyses interrupted by the last shutdown');
        await blobs.sweep();
      }
      const pool = new WorkerPool({
        script: new URL('./jobs/analysis-worker.js', import.meta.url),
        size: config.workerCount,
        taskTimeoutMs: config.analysisTimeout * 1000,
      });
      closers.push(() => pool.close());
      runner = new AnalysisRunner(
        store,
        blobs,
        (path) => pool.run<FileAnalysis>({ kind: 'analyze', path }),
        { concurrency: config.workerCount * 2, leaseMs: 30_000, pollMs: store.dialect === 'sqlite' ? 1000 : 250, maxAttempts: 5 },
        log.child({ component: 'analysis' }),
      );
      runner.start();
      const r = runner;
      closers.push(() => r.stop());
    }
    let app: FastifyInstance | null = null;
    let url: string | null = null;
    if (config.role !== 'worker') {
      const r = runner;
      // Two digest threads: large uploads hash on the other core while this thread parses HTTP.
      const hashing = new DigestPool(2);
      closers.push(() => hashing.close());
      const intake = new Intake(store, blobs, hashing, await SourceKeys.open(store), await countryLookupOf(config), config, () => r?.wake());
      const rulesets = new HuntingRulesets(store, { maxRulesBytes: config.maxRulesetBytes, defaultLimit: config.defaultNotificationLimit });
      app = await buildApi({ config, store, blobs, intake, rulesets, auth: new Authenticator(store), logger: log });
      await app.listen({ host: config.host, port: config.port });
      const a = app.server.address();
      url = typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : null;
      const api = app;
      closers.push(() => api.close());
    }
    return { url, adminKey: first?.apikey ?? null, store, log, close };
  } catch (e) {
    await close();
    throw e;
  }
}
