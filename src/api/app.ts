// The HTTP API: a fastify app serving VirusTotal API v3 under /api/v3. This file wires parsing,
// authentication (of every route but the probes, routes/probes.ts) and the error handler
// (send-error.ts); each VT collection has its own routes file.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import findMyWay from 'find-my-way';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Metrics } from '../metrics/metrics.js';
import { TrawlError } from '../model/errors.js';
import type { HuntingRulesets } from '../hunting/rulesets/hunting-rulesets.js';
import type { RetrohuntJobs } from '../hunting/retrohunt/retrohunt-jobs.js';
import type { Intake } from '../intake/intake.js';
import type { HuntingNotifications } from '../stream/hunting-notifications.js';
import type { IocStream } from '../stream/ioc-stream.js';
import type { LiveFeed } from '../stream/live-feed.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { ContentSearch } from '../content-index/content-search.js';
import type { Store } from '../store/store.js';
import type { Authenticator } from './auth.js';
import type { TlsPair } from './tls.js';
import type { ZipFiles } from '../delivery/zip-files.js';
import type { FileDocuments } from '../stream/file-documents.js';
import type { StreamPages } from '../stream/stream-pages.js';
import { handleError, sendError } from './send-error.js';
import { capConnectionsPerClient, clientErrorHandler } from './connection-guard.js';
import { analysisRoutes } from './routes/analyses.js';
import { fileRoutes } from './routes/files.js';
import { goodwareCorpusRoutes } from './routes/goodware-corpus.js';
import { huntingNotificationRoutes } from './routes/hunting-notifications.js';
import { huntingRulesetRoutes } from './routes/hunting-rulesets.js';
import { intelligenceSearchRoutes } from './routes/intelligence-search.js';
import { iocStreamRoutes } from './routes/ioc-stream.js';
import { metadataRoutes } from './routes/metadata.js';
import { probeRoutes } from './routes/probes.js';
import { retrohuntJobRoutes } from './routes/retrohunt-jobs.js';
import { userRoutes } from './routes/users.js';
import { zipFileRoutes } from './routes/zip-files.js';
import { groupRoutes } from './routes/groups.js';
import { isAppPath, webAppRoutes } from './routes/web-app.js';
import { usageBucket } from './usage-bucket.js';
import type { QuotaMeter } from '../users/quota-meter.js';
import type { Quotas } from '../users/quotas.js';

export interface ApiDeps {
  config: Config;
  store: Store;
  blobs: BlobStore;
  intake: Intake;
  rulesets: HuntingRulesets;
  retrohunts: RetrohuntJobs;
  notifications: HuntingNotifications;
  /** `content:` searches (they refuse to run when the content index is off). */
  contentSearch: ContentSearch;
  stream: IocStream;
  feed: LiveFeed;
  /** Serialized File attributes by revision, shared by every list of files with notifications. */
  fileDocuments: FileDocuments;
  /** IoC Stream pages as JSON text, read beside the event loop or in it. */
  streamPages: StreamPages;
  auth: Authenticator;
  /** Counts and limits API requests per user and group (users/quota-meter.ts). */
  meter: QuotaMeter;
  /** Monthly and held quotas, and the quota reports. */
  quotas: Quotas;
  logger: Logger;
  /** This process's metrics, served at /metrics unless the `metrics` setting says otherwise. */
  metrics: Metrics;
  /** ZIP files of stored files (intelligence/zip_files). */
  zipFiles: ZipFiles;
  /** Certificate and key when the API speaks HTTPS (tlsCert, tlsKey); absent: plain HTTP. */
  tls?: TlsPair;
}

const METHODS = ['GET', 'POST', 'PATCH', 'PUT', 'DELETE'] as const;

/** A registered route: method and URL pattern (`/api/v3/files/:id`). */
export interface ApiRoute {
  method: string;
  url: string;
}
const ROUTES = new WeakMap<FastifyInstance, ApiRoute[]>();

/** Every route `app` registered (the authorization test walks them all, new ones included). */
export function routesOf(app: FastifyInstance): readonly ApiRoute[] {
  return ROUTES.get(app) ?? [];
}

export async function buildApi(deps: ApiDeps): Promise<FastifyInstance> {
  const serverTimeouts = { headersTimeout: deps.config.headersTimeout * 1000, connectionsCheckingInterval: 1000 };
  // An https server is an http.Server to every route and hook: typed as one (fastify types them apart).
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    trustProxy: deps.config.trustProxy,
    bodyLimit: 16 * 1024 * 1024,
    logController: new LogController({ disableRequestLogging: true }),
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 },
    // Uploads of 650 MB on slow links must not be cut off, so no whole-request timeout: a client
    // must send its headers within headersTimeout, and a connection silent for idleTimeout closes.
    requestTimeout: 0,
    connectionTimeout: deps.config.idleTimeout * 1000,
    // Between requests Node uses this instead of the idle timeout (Fastify's default is 72 s).
    keepAliveTimeout: Math.min(deps.config.idleTimeout || 72, 72) * 1000,
    // With TLS, fastify hands `https` (and not `http`) to the server: the timeouts go with it.
    ...(deps.tls ? { https: { ...deps.tls, ...serverTimeouts } } : { http: serverTimeouts }),
    clientErrorHandler,
    // The router's own refusals (a path segment over maxParamLength, a malformed URL).
    frameworkErrors: (err, _req, reply) =>
      sendError(reply, new TrawlError('BadRequestError', err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path segment is longer than 1,024 characters' : 'malformed URL')),
  }) as unknown as FastifyInstance;
  if (deps.config.maxConnectionsPerClient > 0 && !deps.config.trustProxy) capConnectionsPerClient(app.server, deps.config.maxConnectionsPerClient);

  // Which paths exist for which methods, to tell "no such route" from "method not allowed".
  const routes = findMyWay({ ignoreTrailingSlash: true });
  const registered: ApiRoute[] = [];
  ROUTES.set(app, registered);
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) {
      if (m === 'HEAD') continue;
      routes.on(m as 'GET', r.url, () => undefined);
      registered.push({ method: m, url: r.url });
    }
  });

  // JSON bodies: accept an empty body (vt-cli POSTs zero bytes) and any content type (vt-py sends
  // some JSON without one). Multipart bodies are left unread for the streaming upload handlers.
  app.removeAllContentTypeParsers();
  const parseJson = (_req: FastifyRequest, body: string, done: (e: Error | null, v?: unknown) => void) => {
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch (e) {
      done(new TrawlError('BadRequestError', `request body is not valid JSON: ${(e as Error).message}`));
    }
  };
  app.addContentTypeParser('multipart/form-data', (_req, _payload, done) => done(null));
  app.addContentTypeParser('*', { parseAs: 'string' }, parseJson);

  app.setErrorHandler(handleError);

  const web = webAppRoutes(deps);
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0]!;
    // A page of the web app (/livehunt, /files/<sha256>...): the app routes it in the browser.
    if (isAppPath(req.method, path)) {
      const sent = web.index(req, reply);
      if (sent) return sent;
    }
    const allowed = METHODS.filter((m) => m !== req.method && routes.find(m, path));
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      return sendError(reply, new TrawlError('BadRequestError', `method ${req.method} is not supported on ${path}; use ${allowed.join(', ')}`));
    }
    return sendError(reply, new TrawlError('NotFoundError', `no such endpoint: ${req.method} ${path}`));
  });

  // Outside the authenticated scope: load balancers and scrapers have no API key.
  await app.register(probeRoutes({
    store: deps.store, blobs: deps.blobs, role: deps.config.role, metrics: deps.config.metrics === 'on' ? deps.metrics : null,
  }));

  // The web app and its sign-in, outside the API key's scope (routes/web-app.ts).
  await app.register(web.routes);

  await app.register(async (api) => {
    api.addHook('onRequest', async (req) => {
      await deps.auth.authenticate(req);
      // In memory but for a user's first request in planTtlMs (their quotas are read then).
      await deps.meter.admit(req.user.id, usageBucket(req.routeOptions.url));
    });
    await api.register(fileRoutes(deps));
    await api.register(analysisRoutes(deps));
    await api.register(userRoutes(deps));
    await api.register(groupRoutes(deps));
    await api.register(huntingRulesetRoutes(deps));
    await api.register(huntingNotificationRoutes(deps));
    await api.register(iocStreamRoutes(deps));
    await api.register(retrohuntJobRoutes(deps));
    await api.register(goodwareCorpusRoutes(deps));
    await api.register(intelligenceSearchRoutes(deps));
    await api.register(metadataRoutes());
    await api.register(zipFileRoutes(deps));
  }, { prefix: '/api/v3' });

  return app;
}
