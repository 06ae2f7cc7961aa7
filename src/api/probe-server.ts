// The probe listener (probePort): /api/v3/health, /api/v3/ready and /metrics on a port of their
// own, for processes that run no API (--role worker) and for keeping /metrics off the API's port.
// Everything else is 404, in VirusTotal's error shape like the API's.
import Fastify, { LogController, type FastifyBaseLogger } from 'fastify';
import type { Logger } from 'pino';
import { TrawlError } from '../model/errors.js';
import { probeRoutes, type ProbeDeps } from './routes/probes.js';
import { handleError, sendError } from './send-error.js';

export interface ProbeServer {
  /** Where it listens, e.g. http://127.0.0.1:9100. */
  url: string;
  close(): Promise<void>;
}

export async function startProbeServer(deps: ProbeDeps, listen: { host: string; port: number }, log: Logger): Promise<ProbeServer> {
  const app = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Probes are tiny GETs: a slow or idle client is cut off soon.
    connectionTimeout: 10_000,
    http: { headersTimeout: 5000 },
  });
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) => sendError(reply, new TrawlError('NotFoundError', `no such endpoint: ${req.method} ${req.url.split('?')[0]}`)));
  await app.register(probeRoutes(deps));
  await app.listen(listen);
  const a = app.server.address();
  const url = typeof a === 'object' && a ? `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}` : '';
  return { url, close: () => app.close() };
}
