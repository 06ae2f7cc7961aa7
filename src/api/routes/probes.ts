// Liveness, readiness and Prometheus metrics, for load balancers, orchestrators and scrapers. They
// take no API key (those callers have none), read nothing of any user's, and are cheap: liveness
// touches nothing, readiness makes one trivial query and one access() bounded in time, so a hung
// database fails the probe instead of hanging it. Served by the API and by the probe listener of
// processes without one (probe-server.ts).
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/metrics.js';
import { transient } from '../../model/errors.js';
import type { BlobStore } from '../../store/blobs/blob-store.js';
import type { Store } from '../../store/store.js';
import { trawlVersion } from '../../version.js';

/** The routes answered without an API key (the authorization test's one exception). */
export const PUBLIC_ROUTES: readonly string[] = ['/api/v3/health', '/api/v3/ready', '/metrics'];

export interface ProbeDeps {
  store: Store;
  blobs: BlobStore;
  role: string;
  /** Serves /metrics from it; null: no /metrics here. */
  metrics: Metrics | null;
}

/** How long each readiness check may take. */
const CHECK_TIMEOUT_MS = 2000;

/** Resolves when `p` does within `ms`; otherwise rejects saying so. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([p, new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** What keeps this process from serving: each failed check as "<what> unreachable: <why>"; empty when ready. */
export async function readinessProblems(store: Store, blobs: BlobStore, timeoutMs = CHECK_TIMEOUT_MS): Promise<string[]> {
  const checks = await Promise.allSettled([within(store.ping(), timeoutMs), within(blobs.check(), timeoutMs)]);
  const why = (r: PromiseSettledResult<void>) => (r.status === 'rejected' ? String((r.reason as Error)?.message ?? r.reason) : null);
  const problems: string[] = [];
  const [db, blob] = checks.map(why);
  if (db !== null) problems.push(`database unreachable: ${db}`);
  if (blob !== null) problems.push(`blob store unreachable: ${blob}`);
  return problems;
}

export function probeRoutes({ store, blobs, role, metrics }: ProbeDeps) {
  const started = Date.now();
  const version = trawlVersion();
  return async (app: FastifyInstance) => {
    app.addHook('onSend', async (_req, reply) => {
      reply.header('cache-control', 'no-store');
    });

    // Liveness: answering at all means the event loop turns.
    app.get('/api/v3/health', async () => ({
      data: { status: 'ok', version, role, uptime: Math.floor((Date.now() - started) / 1000) },
    }));

    app.get('/api/v3/ready', async () => {
      const problems = await readinessProblems(store, blobs);
      if (problems.length > 0) throw transient(problems.join('; '));
      return { data: { status: 'ok', database: 'ok', blob_store: 'ok' } };
    });

    if (metrics) {
      app.get('/metrics', async (_req, reply) => {
        const { text, contentType } = await metrics.exposition();
        return reply.type(contentType).send(text);
      });
    }
  };
}
