// /api/v3/groups (spec 7.2): group objects and their `users` and `administrators`, for members
// and Trawl administrators (anyone else is told the group does not exist); creating and deleting
// groups is for Trawl administrators, changing members also for the group's administrators.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, badRequest, forbidden } from '../../model/errors.js';
import type { GroupMember, GroupRecord, UserRecord } from '../../store/store.js';
import { addMember, createGroup, requireGroup, removeMember } from '../../users/groups.js';
import { applyQuotaChanges, parseQuotaChanges } from '../../users/quota-settings.js';
import type { ApiDeps } from '../app.js';
import { collection, originOf, queryValue } from '../envelope.js';
import { groupObject } from '../serializers/group.js';
import { userObject } from '../serializers/user.js';

type WithId = { Params: { id: string } };
const notFound = (id: string) => new TrawlError('NotFoundError', `group with id "${id}" not found`);

/** `{"data": [{"type": "user", "id": "bob"}, ...]}` (one object alone is accepted too). */
function usernamesOf(body: unknown): string[] {
  const data = (body as { data?: unknown } | undefined)?.data;
  const list = Array.isArray(data) ? data : data ? [data] : [];
  if (list.length === 0) throw badRequest('expected a body {"data": [{"type": "user", "id": "<username>"}]}');
  return list.map((o) => {
    if (!o || typeof o !== 'object' || typeof (o as { id?: unknown }).id !== 'string') throw badRequest('each item needs a string "id"');
    const t = (o as { type?: unknown }).type;
    if (t !== undefined && t !== 'user') throw badRequest(`only users can be members, not "${String(t)}"`);
    return (o as { id: string }).id;
  });
}

export function groupRoutes({ store, config, meter, notifications, quotas }: ApiDeps) {
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  /** The group and its members, when the caller may see it (a member or a Trawl administrator). */
  async function visible(req: FastifyRequest, id: string): Promise<{ group: GroupRecord; members: GroupMember[] }> {
    const group = await store.getGroupByName(id);
    if (!group) throw notFound(id);
    const members = await store.groupMembers(group.id);
    if (!req.user.isAdmin && !members.some((m) => m.userId === req.user.id)) throw notFound(id);
    return { group, members };
  }

  /** A Trawl administrator or an administrator of the group. */
  const manages = (req: FastifyRequest, members: GroupMember[]) =>
    req.user.isAdmin || members.some((m) => m.userId === req.user.id && m.isAdmin);

  async function manageable(req: FastifyRequest, id: string): Promise<GroupRecord> {
    const { group, members } = await visible(req, id);
    if (!manages(req, members)) throw forbidden('only administrators of the group change its members');
    return group;
  }

  const requireAdmin = (req: FastifyRequest) => {
    if (!req.user.isAdmin) throw forbidden('only administrators can manage groups');
  };
  const changed = () => {
    meter.forget();
    notifications.sharing.changed(); // rulesets shared with the group reach or leave members
  };

  return async (app: FastifyInstance) => {
    app.get('/groups', async (req) => {
      requireAdmin(req);
      const groups = await store.listGroups();
      return collection(req, origin(req), { items: groups.map((g) => groupObject(origin(req), g)) }, { count: groups.length });
    });

    app.post('/groups', async (req) => {
      requireAdmin(req);
      const data = (req.body as { data?: { id?: unknown; type?: unknown; attributes?: { quotas?: unknown } } } | undefined)?.data;
      if (!data || typeof data.id !== 'string') throw badRequest('expected a body {"data": {"type": "group", "id": "<name>"}}');
      if (data.type !== undefined && data.type !== 'group') throw badRequest(`expected an object of type "group", got "${String(data.type)}"`);
      const changes = data.attributes?.quotas === undefined ? [] : parseQuotaChanges(data.attributes.quotas);
      const g = await createGroup(store, data.id);
      await applyQuotaChanges(store, { kind: 'group', id: g.id }, changes);
      return { data: groupObject(origin(req), g, await store.getQuotas({ kind: 'group', id: g.id })) };
    });

    app.get<WithId>('/groups/:id', async (req) => {
      const { group } = await visible(req, req.params.id);
      return { data: groupObject(origin(req), group, await store.getQuotas({ kind: 'group', id: group.id })) };
    });

    /** `attributes.quotas` only (Trawl administrators). */
    app.patch<WithId>('/groups/:id', async (req) => {
      requireAdmin(req);
      const group = await requireGroup(store, req.params.id);
      const attrs = (req.body as { data?: { attributes?: Record<string, unknown> } } | undefined)?.data?.attributes ?? {};
      for (const k of Object.keys(attrs)) if (k !== 'quotas') throw badRequest(`attribute "${k}" cannot be changed`);
      if (attrs.quotas !== undefined) await applyQuotaChanges(store, { kind: 'group', id: group.id }, parseQuotaChanges(attrs.quotas));
      meter.forget();
      return { data: groupObject(origin(req), group, await store.getQuotas({ kind: 'group', id: group.id })) };
    });

    /** The members' requests together, per day and endpoint (spec 7.2), for whoever manages the group. */
    app.get<WithId>('/groups/:id/api_usage', async (req) => {
      const { members } = await visible(req, req.params.id);
      if (!manages(req, members)) throw forbidden("only administrators of the group see its members' usage");
      const ids = members.map((m) => m.userId);
      return { data: await quotas.apiUsage(ids, queryValue(req, 'start_date'), queryValue(req, 'end_date')) };
    });

    app.delete<WithId>('/groups/:id', async (req) => {
      requireAdmin(req);
      const group = await requireGroup(store, req.params.id);
      await store.deleteGroup(group.id);
      changed();
      return {};
    });

    for (const rel of ['users', 'administrators'] as const) {
      const pick = (members: GroupMember[]) => (rel === 'users' ? members : members.filter((m) => m.isAdmin));
      const usersOf = async (members: GroupMember[]) =>
        (await Promise.all(pick(members).map((m) => store.getUserById(m.userId)))).filter((u): u is UserRecord => !!u);
      app.get<WithId>(`/groups/:id/${rel}`, async (req) => {
        const users = await usersOf((await visible(req, req.params.id)).members);
        return collection(req, origin(req), { items: users.map((u) => userObject(origin(req), u, req)) }, { count: users.length });
      });
      app.get<WithId>(`/groups/:id/relationships/${rel}`, async (req) => {
        const users = await usersOf((await visible(req, req.params.id)).members);
        return collection(req, origin(req), { items: users.map((u) => ({ type: 'user', id: u.username })) }, { count: users.length });
      });
      app.get<{ Params: { id: string; user: string } }>(`/groups/:id/relationships/${rel}/:user`, async (req) => {
        const users = await usersOf((await visible(req, req.params.id)).members);
        return { data: users.some((u) => u.username === req.params.user) };
      });
      // Adding to `administrators` makes (or keeps) them members who administer the group.
      app.post<WithId>(`/groups/:id/relationships/${rel}`, async (req) => {
        const group = await manageable(req, req.params.id);
        for (const name of usernamesOf(req.body)) await addMember(store, group.name, name, rel === 'administrators');
        changed();
        return {};
      });
    }

    /** Removes a member: Trawl and group administrators for anyone, a member for themself. */
    app.delete<{ Params: { id: string; user: string } }>('/groups/:id/relationships/users/:user', async (req) => {
      const group = req.params.user === req.user.username ? (await visible(req, req.params.id)).group : await manageable(req, req.params.id);
      await removeMember(store, group.name, req.params.user);
      changed();
      return {};
    });

    /** Takes administration away; the user stays a member. */
    app.delete<{ Params: { id: string; user: string } }>('/groups/:id/relationships/administrators/:user', async (req) => {
      const group = await manageable(req, req.params.id);
      const u = await store.getUserByName(req.params.user);
      const member = u && (await store.groupMembers(group.id)).find((m) => m.userId === u.id && m.isAdmin);
      if (!u || !member) throw new TrawlError('NotFoundError', `user "${req.params.user}" is not an administrator of group "${group.name}"`);
      await store.setGroupMember(group.id, u.id, false);
      changed();
      return {};
    });
  };
}
