// API-key authentication: every /api/v3 call carries `x-apikey`, or the web app's session cookie
// (web-session.ts). Keys are looked up by their sha256; a short cache keeps the hot path off the
// database without letting a disabled or rotated key live for more than `ttlMs`.
import type { FastifyRequest } from 'fastify';
import { TrawlError } from '../model/errors.js';
import type { Store, UserRecord } from '../store/store.js';
import { hashApiKey } from '../users/api-keys.js';
import { checkCsrf, cookieValue, SESSION_COOKIE, WebSessions, type WebSession } from './web-session.js';


declare module 'fastify' {
  interface FastifyRequest {
    user: UserRecord;
    /** The caller's API key; empty for a web session (the browser never holds the key). */
    apikey: string;
    /** sha256 of the caller's key: what a long request checks again (live-feed-sse.ts). */
    apikeyHash: string;
  }
}

export class Authenticator {
  private readonly cache = new Map<string, { user: UserRecord | null; until: number }>();
  private readonly byId = new Map<number, { user: UserRecord | null; until: number }>();
  /** The web app's signed session cookies. */
  readonly sessions: WebSessions;

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 2000,
  ) {
    this.sessions = new WebSessions(store);
  }

  /** Drops cached lookups, e.g. after a user was disabled or a key rotated in this process. */
  forget(): void {
    this.cache.clear();
    this.byId.clear();
  }

  /** A user by id, cached like keys: a session's user disabled or rotated is seen within `ttlMs`. */
  private async userById(id: number): Promise<UserRecord | null> {
    const hit = this.byId.get(id);
    const now = Date.now();
    if (hit && hit.until > now) return hit.user;
    const user = await this.store.getUserById(id);
    if (this.byId.size > 10_000) this.byId.clear();
    this.byId.set(id, { user, until: now + this.ttlMs });
    return user;
  }

  /** The web session of a request's cookie, or null without one; throws when it is no longer valid. */
  async session(req: FastifyRequest): Promise<WebSession | null> {
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return cookie ? this.sessions.verify(cookie, (id) => this.userById(id)) : null;
  }

  async lookup(apikey: string): Promise<UserRecord | null> {
    const hash = hashApiKey(apikey);
    const hit = this.cache.get(hash);
    const now = Date.now();
    if (hit && hit.until > now) return hit.user;
    const user = await this.store.getUserByKeyHash(hash);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { user, until: now + this.ttlMs });
    return user;
  }

  /** Resolves the caller of a request or throws the VirusTotal error that explains why not. */
  async authenticate(req: FastifyRequest): Promise<void> {
    const raw = req.headers['x-apikey'];
    const key = (Array.isArray(raw) ? raw[0] : raw)?.trim();
    if (!key) {
      // The key wins over a cookie: API clients are unchanged whatever cookies they carry.
      const session = await this.session(req);
      if (!session) throw new TrawlError('AuthenticationRequiredError', 'X-Apikey header is missing');
      checkCsrf(req, session);
      req.user = session.user;
      req.apikey = '';
      req.apikeyHash = session.user.apikeyHash;
      return;
    }
    const user = await this.lookup(key);
    if (!user) throw new TrawlError('WrongCredentialsError', 'Wrong API key');
    if (user.disabled) throw new TrawlError('UserNotActiveError', `User "${user.username}" is not active`);
    req.user = user;
    req.apikey = key;
    req.apikeyHash = user.apikeyHash;
  }
}

/**
 * User relationships are owner-only (spec 7.1): `{id}` (a username or an API key) must name the
 * caller, or the request is refused with ForbiddenError.
 */
export function requireSelf(req: FastifyRequest, id: string): void {
  if (id !== req.user.username && (req.apikey === '' || id !== req.apikey)) {
    throw new TrawlError('ForbiddenError', 'You are not authorized to perform the requested operation');
  }
}
