// Sessions of the web app: signing in with an API key gives the browser an HttpOnly, SameSite=Strict
// cookie, so the key is never kept in page storage. The cookie is signed, not stored: it names the
// user and its expiry, and its MAC covers the user's key hash, so rotating the key ends every
// session at once and every API process checks it with the one secret in the store's settings.
// State-changing requests sent with the cookie must carry the CSRF token the page was given.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { TrawlError } from '../model/errors.js';
import type { Store, UserRecord } from '../store/store.js';

export const SESSION_COOKIE = 'trawl_session';
/** How long a session lasts: a working day; signing in again starts a new one. */
export const SESSION_SECONDS = 12 * 3600;
/** The header a page sends its CSRF token in (a cross-site form cannot set headers). */
export const CSRF_HEADER = 'x-csrf-token';

/** A signed-in browser: its user and the token its state-changing requests must carry. */
export interface WebSession {
  user: UserRecord;
  csrfToken: string;
  expires: number;
}

const b64 = (b: Buffer) => b.toString('base64url');

/** The value of cookie `name` in a Cookie header, if any. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class WebSessions {
  private secret?: Promise<Buffer>;

  constructor(private readonly store: Store) {}

  /** The secret shared by every process (created by the first to need it). */
  private key(): Promise<Buffer> {
    this.secret ??= this.store.setSettingIfAbsent('web_session_secret', randomBytes(32).toString('hex')).then((h) => Buffer.from(h, 'hex'));
    return this.secret;
  }

  private async mac(text: string): Promise<string> {
    return b64(createHmac('sha256', await this.key()).update(text).digest());
  }

  /** A new session's cookie value for `user`, its CSRF token and expiry (UNIX seconds). */
  async issue(user: UserRecord, now = Date.now()): Promise<{ cookie: string; csrfToken: string; expires: number }> {
    const expires = Math.floor(now / 1000) + SESSION_SECONDS;
    const body = `${user.id}.${expires}`;
    const cookie = `${body}.${await this.mac(`session:${body}:${user.apikeyHash}`)}`;
    return { cookie, csrfToken: await this.mac(`csrf:${cookie}`), expires };
  }

  /**
   * The session a cookie value stands for. Throws WrongCredentialsError for a forged or expired
   * cookie or one whose user's key was rotated (or who was deleted), UserNotActiveError for a
   * disabled user. `getUser` reads the user (a cached lookup in the authenticator).
   */
  async verify(cookie: string, getUser: (id: number) => Promise<UserRecord | null>): Promise<WebSession> {
    const expired = () => new TrawlError('WrongCredentialsError', 'the session has ended; sign in again');
    const m = /^(\d{1,15})\.(\d{1,12})\.([\w-]{43})$/.exec(cookie);
    if (!m) throw expired();
    const expires = Number(m[2]);
    if (expires * 1000 <= Date.now()) throw expired();
    const user = await getUser(Number(m[1]));
    if (!user) throw expired();
    const want = Buffer.from(await this.mac(`session:${m[1]}.${m[2]}:${user.apikeyHash}`));
    const got = Buffer.from(m[3]!);
    if (want.length !== got.length || !timingSafeEqual(want, got)) throw expired();
    if (user.disabled) throw new TrawlError('UserNotActiveError', `User "${user.username}" is not active`);
    return { user, csrfToken: await this.mac(`csrf:${cookie}`), expires };
  }
}

/**
 * Refuses a cross-site state change made with the cookie: the page's CSRF token must be in
 * CSRF_HEADER, and a browser's Origin, when sent, must be this server's.
 */
export function checkCsrf(req: FastifyRequest, session: WebSession): void {
  if (req.method === 'GET' || req.method === 'HEAD' || req.method === 'OPTIONS') return;
  checkOrigin(req);
  const raw = req.headers[CSRF_HEADER];
  const token = Buffer.from((Array.isArray(raw) ? raw[0] : raw) ?? '');
  const want = Buffer.from(session.csrfToken);
  if (token.length !== want.length || !timingSafeEqual(token, want)) {
    throw new TrawlError('ForbiddenError', `a request sent with the session cookie needs the page's ${CSRF_HEADER} header`);
  }
}

/** A browser's Origin header, when present, must name this server (protects signing in and out too). */
export function checkOrigin(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string | undefined;
  try {
    host = new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host !== req.host) throw new TrawlError('ForbiddenError', `requests from origin ${origin} are not accepted`);
}
