// The web app (web/, bundled into dist/web by `make build`): its files served from memory with
// their gzip forms, any other page path answered with index.html (the app routes in the browser),
// and the session routes (/ui/session) that sign a browser in and out with an API key. Outside
// /api/v3's authentication: the app's page must load before anyone signs in.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TrawlError, badRequest } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { checkOrigin, SESSION_COOKIE, SESSION_SECONDS } from '../web-session.js';

/** Where `make build` puts the app, beside the compiled server (dist/src/api/routes -> dist/web). */
export const WEB_APP_DIR = new URL('../../../web/', import.meta.url);
/** The web app's own routes: public (no API key), so the authorization test leaves them out. */
export const WEB_APP_ROUTES: readonly string[] = ['/', '/assets/:name', '/ui/session'];

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon', '.map': 'application/json',
};

interface Asset {
  type: string;
  body: Buffer;
  gzip: Buffer;
  etag: string;
}

function asset(name: string, body: Buffer): Asset {
  const type = TYPES[/\.\w+$/.exec(name)?.[0] ?? ''] ?? 'application/octet-stream';
  return { type, body, gzip: gzipSync(body, { level: 9 }), etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

/** The app's files, read once at start (some hundreds of KB); null when the app was not built. */
function loadAssets(dir: URL): { index: Asset; files: Map<string, Asset> } | null {
  if (!existsSync(new URL('index.html', dir))) return null;
  const files = new Map<string, Asset>();
  const assets = new URL('assets/', dir);
  if (existsSync(assets)) for (const name of readdirSync(assets)) files.set(name, asset(name, readFileSync(new URL(name, assets))));
  return { index: asset('index.html', readFileSync(new URL('index.html', dir))), files };
}

function send(req: FastifyRequest, reply: FastifyReply, a: Asset, cache: string) {
  reply.header('content-type', a.type).header('cache-control', cache).header('etag', a.etag).header('vary', 'accept-encoding');
  // The page itself: no framing by other sites, scripts and styles from here only.
  if (a.type.startsWith('text/html')) {
    reply.header('content-security-policy', "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    reply.header('x-content-type-options', 'nosniff').header('referrer-policy', 'same-origin');
  }
  if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
  if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
  return reply.send(a.body);
}

/** True for a GET of a page path the app routes itself (not the API, not the probes). */
export function isAppPath(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && !/^\/(api|metrics|ui|assets)(\/|$)/.test(path);
}

export function webAppRoutes(deps: Pick<ApiDeps, 'auth'>, dir: URL = WEB_APP_DIR) {
  const app = loadAssets(dir);
  const { auth } = deps;

  const cookie = (req: FastifyRequest, value: string, maxAge: number) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}${req.protocol === 'https' ? '; Secure' : ''}`;
  const sessionData = (username: string, isAdmin: boolean, csrfToken: string, expires: number) =>
    ({ data: { type: 'web_session', id: username, attributes: { username, is_admin: isAdmin, csrf_token: csrfToken, expires } } });

  return {
    /** index.html for a page path, or null when the app was not built (the caller answers 404). */
    index: (req: FastifyRequest, reply: FastifyReply) => (app ? send(req, reply, app.index, 'no-cache') : null),
    routes: async (server: FastifyInstance) => {
      server.get('/', async (req, reply) => {
        if (!app) throw new TrawlError('NotFoundError', 'the web app was not built (run `make build`)');
        return send(req, reply, app.index, 'no-cache');
      });
      server.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
        const a = app?.files.get(req.params.name);
        if (!a) throw new TrawlError('NotFoundError', `no such asset: ${req.params.name}`);
        // Names carry a hash of their content (web/build.mjs): a new build is a new name.
        return send(req, reply, a, 'public, max-age=31536000, immutable');
      });

      // Sign in: the key is checked like an API request's and traded for the session cookie.
      server.post('/ui/session', async (req, reply) => {
        checkOrigin(req);
        const key = (req.body as { apikey?: unknown } | undefined)?.apikey;
        if (typeof key !== 'string' || key.trim() === '') throw badRequest('expected a body {"apikey": "<your API key>"}');
        const user = await auth.userOfKey(key.trim());
        const s = await auth.sessions.issue(user);
        reply.header('set-cookie', cookie(req, s.cookie, SESSION_SECONDS)).header('cache-control', 'no-store');
        return sessionData(user.username, user.isAdmin, s.csrfToken, s.expires);
      });
      // Who is signed in, and the CSRF token the page keeps in memory (a reload asks again);
      // `data: null` when no one is (a page's first question, not an error). An ended session's
      // cookie is refused as the API refuses it.
      server.get('/ui/session', async (req, reply) => {
        reply.header('cache-control', 'no-store');
        const s = await auth.session(req);
        return s ? sessionData(s.user.username, s.user.isAdmin, s.csrfToken, s.expires) : { data: null };
      });
      server.delete('/ui/session', async (req, reply) => {
        checkOrigin(req);
        reply.header('set-cookie', cookie(req, '', 0)).header('cache-control', 'no-store');
        return {};
      });
    },
  };
}
