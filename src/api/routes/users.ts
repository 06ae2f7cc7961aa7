// /api/v3/users: the User object (spec 7.1), plus Trawl's own admin endpoints to create, list,
// disable and delete users (documented in docs/api.md).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, badRequest, forbidden } from '../../model/errors.js';
import type { UserRecord } from '../../store/store.js';
import { addUser, requireUser, rotateKey } from '../../users/user-admin.js';
import type { ApiDeps } from '../app.js';
import { looksLikeApiKey } from '../../users/api-keys.js';
import { quotaGroupOf } from '../../users/quota-plans.js';
import { applyQuotaChanges, parseQuotaChanges } from '../../users/quota-settings.js';
import { absoluteUrl, collection, decodeCursor, encodeCursor, originOf, parseLimit, queryValue, type VtObject } from '../envelope.js';
import { groupDescriptor, groupObject } from '../serializers/group.js';
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

export function userRoutes({ store, config, auth, notifications, meter, quotas }: ApiDeps) {
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  /**
   * `{id}` is a username, an API key or an e-mail address (spec 7.1, vt-cli's `user`). A key
   * finds only the caller's own: any other key is "not found", whether or not it belongs to
   * someone. An e-mail address is for administrators only.
   */
  async function findUser(req: FastifyRequest, id: string): Promise<UserRecord> {
    const missing = () => new TrawlError('NotFoundError', `user with id "${id}" not found`);
    if (looksLikeApiKey(id)) {
      if (req.apikey === '' || id !== req.apikey) throw missing();
      return (await store.getUserById(req.user.id)) ?? req.user;
    }
    if (id.includes('@')) {
      if (!req.user.isAdmin) throw forbidden('only administrators can look users up by e-mail address');
      const u = await store.getUserByEmail(id);
      if (!u) throw missing();
      return u;
    }
    return requireUser(store, id);
  }

  /** The user themself, a Trawl administrator, or an administrator of one of the user's groups (spec 7.1 "owner + group admin"). */
  async function ownerOrAdmin(req: FastifyRequest, u: UserRecord): Promise<boolean> {
    if (u.id === req.user.id || req.user.isAdmin) return true;
    for (const g of await store.groupsOf(u.id)) {
      if ((await store.groupMembers(g.id)).some((m) => m.userId === req.user.id && m.isAdmin)) return true;
    }
    return false;
  }

  /** The relationships of a User object (spec 7.1), or null when the caller may not see it. */
  async function relationship(req: FastifyRequest, u: UserRecord, name: string, full: boolean): Promise<{ single: boolean; items: VtObject[] } | null> {
    const o = origin(req);
    switch (name) {
      case 'groups': {
        if (u.id !== req.user.id) return null;
        const groups = await store.groupsOf(u.id);
        return { single: false, items: groups.map((g) => (full ? groupObject(o, g) : groupDescriptor(g))) };
      }
      case 'api_quota_group':
      case 'intelligence_quota_group':
      case 'monitor_quota_group': {
        if (!(await ownerOrAdmin(req, u))) return null;
        // Trawl has no Monitor: that group is always none.
        const g = name === 'monitor_quota_group' ? null : await quotaGroupOf(store, u.id);
        return { single: true, items: g ? [full ? groupObject(o, g) : groupDescriptor(g)] : [] };
      }
      default:
        return null;
    }
  }
  const USER_RELATIONSHIPS = ['groups', 'api_quota_group', 'intelligence_quota_group', 'monitor_quota_group'];

  return async (app: FastifyInstance) => {
    app.get<WithId>('/users/:id', async (req) => {
      const u = await findUser(req, req.params.id);
      const data = userObject(origin(req), u, req);
      // `quotas` (spec 7.1): the user themself and their administrators.
      if (await ownerOrAdmin(req, u)) data.attributes!.quotas = await quotas.ofUser(u);
      // relationships=groups,api_quota_group,... (vt-cli's `user`): those the caller may see;
      // others (and names Trawl does not know) are left out.
      const wanted = (queryValue(req, 'relationships') ?? '').split(',').map((s) => s.trim()).filter((s) => USER_RELATIONSHIPS.includes(s));
      if (wanted.length > 0) {
        const rels: Record<string, unknown> = {};
        for (const name of wanted) {
          const r = await relationship(req, u, name, false);
          if (!r) continue;
          const links = { self: absoluteUrl(origin(req), `/api/v3/users/${u.username}/relationships/${name}`), related: absoluteUrl(origin(req), `/api/v3/users/${u.username}/${name}`) };
          rels[name] = r.single ? { data: r.items[0] ?? null, links } : { data: r.items, meta: { count: r.items.length }, links };
        }
        data.relationships = rels;
      }
      return { data };
    });

    for (const name of USER_RELATIONSHIPS) {
      for (const full of [true, false]) {
        app.get<WithId>(full ? `/users/:id/${name}` : `/users/:id/relationships/${name}`, async (req) => {
          const u = await findUser(req, req.params.id);
          const r = await relationship(req, u, name, full);
          if (!r) throw forbidden('You are not authorized to perform the requested operation');
          if (r.single) return { data: r.items[0] ?? null };
          return collection(req, origin(req), { items: r.items }, { count: r.items.length });
        });
      }
    }

    app.get<WithId>('/users/:id/overall_quotas', async (req) => {
      const u = await findUser(req, req.params.id);
      if (!(await ownerOrAdmin(req, u))) throw forbidden('You are not authorized to perform the requested operation');
      return { data: await quotas.overall(u) };
    });

    app.get<WithId>('/users/:id/api_usage', async (req) => {
      const u = await findUser(req, req.params.id);
      if (!(await ownerOrAdmin(req, u))) throw forbidden('You are not authorized to perform the requested operation');
      return { data: await quotas.apiUsage([u.id], queryValue(req, 'start_date'), queryValue(req, 'end_date')) };
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
      const u = await findUser(req, req.params.id);
      const a = bodyAttributes(req.body);
      for (const k of Object.keys(a)) {
        if (!['status', 'admin', 'email', 'quotas'].includes(k)) throw badRequest(`attribute "${k}" cannot be changed`);
      }
      const changes = a.quotas === undefined ? [] : parseQuotaChanges(a.quotas);
      if (a.status !== undefined && a.status !== 'active' && a.status !== 'disabled') throw badRequest('"status" must be "active" or "disabled"');
      if (a.admin !== undefined && typeof a.admin !== 'boolean') throw badRequest('"admin" must be a boolean');
      if (a.email !== undefined && a.email !== null && typeof a.email !== 'string') throw badRequest('"email" must be a string');
      if (u.id === req.user.id && (a.status === 'disabled' || a.admin === false)) throw badRequest('administrators cannot disable or demote themselves');
      const updated = await store.updateUser(u.id, {
        disabled: a.status === undefined ? undefined : a.status === 'disabled',
        isAdmin: a.admin as boolean | undefined,
        email: a.email as string | null | undefined,
      });
      await applyQuotaChanges(store, { kind: 'user', id: u.id }, changes);
      auth.forget();
      meter.forget();
      return { data: userObject(origin(req), updated ?? u, req) };
    });

    app.post<WithId>('/users/:id/apikey', async (req) => {
      const u = await findUser(req, req.params.id);
      if (u.id !== req.user.id) requireAdmin(req);
      const { user, apikey } = await rotateKey(store, u.username);
      auth.forget();
      return { data: userObject(origin(req), user, req, apikey) };
    });

    app.delete<WithId>('/users/:id', async (req) => {
      requireAdmin(req);
      const u = await findUser(req, req.params.id);
      if (u.id === req.user.id) throw badRequest('administrators cannot delete themselves');
      if (!(await store.deleteUser(u.id))) throw new TrawlError('NotFoundError', `user with id "${req.params.id}" not found`);
      auth.forget();
      notifications.sharing.changed(); // their rulesets, and their part in others', went with them
      return {};
    });
  };
}
