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

  /** `load(key)` through `cache`, kept `ttlMs`: a user disabled or a key rotated elsewhere is seen within it. */
  private async cached<K>(cache: Map<K, { user: UserRecord | null; until: number }>, key: K, load: (key: K) => Promise<UserRecord | null>): Promise<UserRecord | null> {
    const hit = cache.get(key);
    const now = Date.now();
    if (hit && hit.until > now) return hit.user;
    const user = await load(key);
    if (cache.size > 10_000) cache.clear();
    cache.set(key, { user, until: now + this.ttlMs });
    return user;
  }

  /** A user by id (a session's), cached like keys. */
  private userById(id: number): Promise<UserRecord | null> {
    return this.cached(this.byId, id, (i) => this.store.getUserById(i));
  }

  /** The web session of a request's cookie, or null without one; throws when it is no longer valid. */
  async session(req: FastifyRequest): Promise<WebSession | null> {
    const cookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
    return cookie ? this.sessions.verify(cookie, (id) => this.userById(id)) : null;
  }

  /** The active user of an API key; the VirusTotal error that says why not otherwise. */
  async userOfKey(apikey: string): Promise<UserRecord> {
    const user = await this.cached(this.cache, hashApiKey(apikey), (hash) => this.store.getUserByKeyHash(hash));
    if (!user) throw new TrawlError('WrongCredentialsError', 'Wrong API key');
    if (user.disabled) throw new TrawlError('UserNotActiveError', `User "${user.username}" is not active`);
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
    const user = await this.userOfKey(key);
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
