// API-key authentication: every /api/v3 call carries `x-apikey`. Keys are looked up by their
// sha256; a short cache keeps the hot path off the database without letting a disabled or
// rotated key live for more than `ttlMs`.
import type { FastifyRequest } from 'fastify';
import { TrawlError } from '../model/errors.js';
import type { Store, UserRecord } from '../store/store.js';
import { hashApiKey } from '../users/api-keys.js';


declare module 'fastify' {
  interface FastifyRequest {
    user: UserRecord;
    apikey: string;
  }
}

export class Authenticator {
  private readonly cache = new Map<string, { user: UserRecord | null; until: number }>();

  constructor(
    private readonly store: Store,
    private readonly ttlMs = 2000,
  ) {}

  /** Drops cached lookups, e.g. after a user was disabled or a key rotated in this process. */
  forget(): void {
    this.cache.clear();
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
    if (!key) throw new TrawlError('AuthenticationRequiredError', 'X-Apikey header is missing');
    const user = await this.lookup(key);
    if (!user) throw new TrawlError('WrongCredentialsError', 'Wrong API key');
    if (user.disabled) throw new TrawlError('UserNotActiveError', `User "${user.username}" is not active`);
    req.user = user;
    req.apikey = key;
  }
}

/**
 * User relationships are owner-only (spec 7.1): `{id}` (a username or an API key) must name the
 * caller, or the request is refused with ForbiddenError.
 */
export function requireSelf(req: FastifyRequest, id: string): void {
  if (id !== req.user.username && id !== req.apikey) {
    throw new TrawlError('ForbiddenError', 'You are not authorized to perform the requested operation');
  }
}
