// User objects (spec 7.1). Owner-only attributes (apikey, email, privileges, quotas) are shown
// to the user themself; administrators also see email and privileges.
import type { FastifyRequest } from 'fastify';
import type { UserRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';

export function userObject(origin: string, u: UserRecord, req: FastifyRequest, newKey?: string): VtObject {
  const own = req.user.id === u.id;
  const a: Record<string, unknown> = {
    status: u.disabled ? 'disabled' : 'active',
    user_since: u.createdAt,
    reputation: 0,
  };
  if (own || req.user.isAdmin) {
    if (u.email) a.email = u.email;
    a.privileges = { admin: { granted: u.isAdmin } };
  }
  // Keys are stored hashed: the owner sees the key they authenticated with; a key just created or
  // rotated is shown once to whoever asked for it.
  if (newKey) a.apikey = newKey;
  else if (own && req.apikey) a.apikey = req.apikey;
  return { type: 'user', id: u.username, links: { self: absoluteUrl(origin, `/api/v3/users/${u.username}`) }, attributes: a };
}
