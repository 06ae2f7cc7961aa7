// /api/v3/users: the User object (spec 7.1), plus Trawl's own admin endpoints to create, list,
// disable and delete users (documented in docs/api.md).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, badRequest, forbidden } from '../../model/errors.js';
import type { UserRecord } from '../../store/store.js';
import { addUser, requireUser, rotateKey } from '../../users/user-admin.js';
import type { ApiDeps } from '../app.js';
import { hashApiKey, looksLikeApiKey } from '../../users/api-keys.js';
import { collection, decodeCursor, encodeCursor, originOf, parseLimit, queryValue } from '../envelope.js';
import { userObject } from '../serializers/user.js';

type WithId = { Params: { id: string } };

function requireAdmin(req: FastifyRequest): void {
  if (!req.user.isAdmin) throw forbidden('only administrators can manage users');
}

function bodyAttributes(body: unknown): Record<string, unknown> {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw badRequest('expected a body {"data": {"type": "user", "attributes": {...}}}');
  const d = data as { type?: unknown; attributes?: unknown };
  if (d.type !== undefined && d.type !== 'user') throw badRequest(`expected an object of type "user", got "${String(d.type)}"`);
  const attrs = d.attributes ?? {};
  if (typeof attrs !== 'object' || Array.isArray(attrs)) throw badRequest('"attributes" must be an object');
  return attrs as Record<string, unknown>;
}

export function userRoutes({ store, config, auth, notifications }: ApiDeps) {
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  /** `{id}` is a username or an API key (spec 7.1). */
  async function findUser(id: string): Promise<UserRecord> {
    if (looksLikeApiKey(id)) {
      const u = await store.getUserByKeyHash(hashApiKey(id));
      if (u) return u;
    }
    return requireUser(store, id);
  }

  return async (app: FastifyInstance) => {
    app.get<WithId>('/users/:id', async (req) => {
      const u = await findUser(req.params.id);
      return { data: userObject(origin(req), u, req) };
    });

    app.get('/users', async (req) => {
      requireAdmin(req);
      const limit = parseLimit(queryValue(req, 'limit'), 100);
      const cursor = queryValue(req, 'cursor');
      const after = cursor ? decodeCursor(cursor, (v): v is number => Number.isSafeInteger(v)) : 0;
      const users = await store.listUsers(after, limit + 1);
      const items = users.slice(0, limit).map((u) => userObject(origin(req), u, req));
      const next = users.length > limit ? encodeCursor(users[limit - 1]!.id) : undefined;
      return collection(req, origin(req), { items, next }, { count: await store.countUsers() });
    });

    app.post('/users', async (req) => {
      requireAdmin(req);
      const a = bodyAttributes(req.body);
      const id = (req.body as { data: { id?: unknown } }).data.id ?? a.username;
      if (typeof id !== 'string') throw badRequest('give the new user\'s name as data.id');
      if (a.admin !== undefined && typeof a.admin !== 'boolean') throw badRequest('"admin" must be a boolean');
      if (a.email !== undefined && typeof a.email !== 'string') throw badRequest('"email" must be a string');
      const { user, apikey } = await addUser(store, id, { admin: a.admin as boolean | undefined, email: a.email as string | undefined });
      return { data: userObject(origin(req), user, req, apikey) };
    });

    app.patch<WithId>('/users/:id', async (req) => {
      requireAdmin(req);
      const u = await findUser(req.params.id);
      const a = bodyAttributes(req.body);
      for (const k of Object.keys(a)) {
        if (!['status', 'admin', 'email'].includes(k)) throw badRequest(`attribute "${k}" cannot be changed`);
      }
      if (a.status !== undefined && a.status !== 'active' && a.status !== 'disabled') throw badRequest('"status" must be "active" or "disabled"');
      if (a.admin !== undefined && typeof a.admin !== 'boolean') throw badRequest('"admin" must be a boolean');
      if (a.email !== undefined && a.email !== null && typeof a.email !== 'string') throw badRequest('"email" must be a string');
      if (u.id === req.user.id && (a.status === 'disabled' || a.admin === false)) throw badRequest('administrators cannot disable or demote themselves');
      const updated = await store.updateUser(u.id, {
        disabled: a.status === undefined ? undefined : a.status === 'disabled',
        isAdmin: a.admin as boolean | undefined,
        email: a.email as string | null | undefined,
      });
      auth.forget();
      return { data: userObject(origin(req), updated ?? u, req) };
    });

    app.post<WithId>('/users/:id/apikey', async (req) => {
      const u = await findUser(req.params.id);
      if (u.id !== req.user.id) requireAdmin(req);
      const { user, apikey } = await rotateKey(store, u.username);
      auth.forget();
      return { data: userObject(origin(req), user, req, apikey) };
    });

    app.delete<WithId>('/users/:id', async (req) => {
      requireAdmin(req);
      const u = await findUser(req.params.id);
      if (u.id === req.user.id) throw badRequest('administrators cannot delete themselves');
      if (!(await store.deleteUser(u.id))) throw new TrawlError('NotFoundError', `user with id "${req.params.id}" not found`);
      auth.forget();
      notifications.sharing.changed(); // their rulesets, and their part in others', went with them
      return {};
    });
  };
}
