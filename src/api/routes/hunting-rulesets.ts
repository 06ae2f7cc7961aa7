// /api/v3/intelligence/hunting_rulesets and /users/{id}/hunting_rulesets (spec 2.2): thin HTTP
// glue over hunting/rulesets/hunting-rulesets.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { requireSelf } from '../auth.js';
import type { GroupRecord, RulesetRecord, UserRecord } from '../../store/store.js';
import { absoluteUrl, collection, decodeCursor, encodeCursor, originOf, parseLimit, queryValue, type VtObject } from '../envelope.js';
import { rulesetAttributes, rulesetObject } from '../serializers/hunting-ruleset.js';
import { userObject } from '../serializers/user.js';
import { groupDescriptor, groupObject } from '../serializers/group.js';

type WithId = { Params: { id: string } };
type After = { k: string | number; id: number };
const isAfter = (v: unknown): v is After =>
  !!v && typeof v === 'object' && Number.isSafeInteger((v as After).id) && ['string', 'number'].includes(typeof (v as After).k);

/** Ids from `{"data": [{"type": "user", "id": "..."}, ...]}`; `group` items too where `groups` is given. */
function userIds(body: unknown, groups?: string[]): string[] {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!Array.isArray(data) || data.length === 0) throw badRequest('expected a body {"data": [{"type": "user", "id": "<username>"}, ...]}');
  return data.flatMap((d) => {
    const o = d as { type?: unknown; id?: unknown } | null;
    if (!o || typeof o.id !== 'string') throw badRequest('each item needs a string "id"');
    if (groups && o.type === 'group') {
      groups.push(o.id);
      return [];
    }
    if (o.type !== undefined && o.type !== 'user') throw badRequest(`only users${groups ? ' and groups' : ''} can be ${groups ? 'editors' : 'owners'}, not "${String(o.type)}"`);
    return [o.id];
  });
}

/** `{"data": {"type": "hunting_ruleset", "id"?: ..., "attributes": {...}}}`; `id` is optional. */
function bodyAttributes(body: unknown, id?: string): unknown {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw badRequest('expected a body {"data": {"type": "hunting_ruleset", "attributes": {...}}}');
  const d = data as { type?: unknown; id?: unknown; attributes?: unknown };
  if (d.type !== undefined && d.type !== 'hunting_ruleset') throw badRequest(`expected an object of type "hunting_ruleset", got "${String(d.type)}"`);
  if (id !== undefined && d.id !== undefined && String(d.id) !== id) throw badRequest(`data.id "${String(d.id)}" does not match the URL`);
  return d.attributes ?? {};
}

export function huntingRulesetRoutes(deps: ApiDeps) {
  const { rulesets, config, store } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  /**
   * Ruleset objects with the relationships asked for by `relationships=` (vt-cli always asks for
   * owner,editors; spec 1.6): descriptors of users, with links to both relationship URLs.
   */
  async function withRelationships(req: FastifyRequest, list: RulesetRecord[]): Promise<VtObject[]> {
    const wanted = new Set((queryValue(req, 'relationships') ?? '').split(',').map((x) => x.trim()));
    const names = new Map<number, string | undefined>();
    const nameOf = async (id: number) => {
      if (!names.has(id)) names.set(id, (await store.getUserById(id))?.username);
      return names.get(id);
    };
    return Promise.all(list.map(async (r) => {
      const o = rulesetObject(origin(req), r);
      const links = (rel: string) => ({
        self: absoluteUrl(origin(req), `/api/v3/intelligence/hunting_rulesets/${r.id}/relationships/${rel}`),
        related: absoluteUrl(origin(req), `/api/v3/intelligence/hunting_rulesets/${r.id}/${rel}`),
      });
      const rel: Record<string, unknown> = {};
      if (wanted.has('owner')) {
        const owner = await nameOf(r.ownerId);
        rel.owner = { data: owner ? { type: 'user', id: owner } : null, links: links('owner') };
      }
      if (wanted.has('editors')) {
        const editors = (await Promise.all(r.editorIds.map(nameOf))).filter((n): n is string => !!n);
        const groups = r.editorGroupIds.length ? (await rulesets.editorGroups(req.user, String(r.id))).map((g) => ({ type: 'group', id: g.name })) : [];
        const data = [...editors.map((id) => ({ type: 'user', id })), ...groups];
        rel.editors = { data, meta: { count: data.length }, links: links('editors') };
      }
      if (wanted.has('viewers')) rel.viewers = { data: [], meta: { count: 0 }, links: links('viewers') };
      return Object.keys(rel).length ? { ...o, relationships: rel } : o;
    }));
  }

  async function listPage(req: FastifyRequest) {
    const cursor = queryValue(req, 'cursor');
    const page = await rulesets.list(req.user, {
      filter: queryValue(req, 'filter'),
      order: queryValue(req, 'order'),
      limit: parseLimit(queryValue(req, 'limit'), 100),
      after: cursor ? decodeCursor(cursor, isAfter) : undefined,
    });
    return collection(req, origin(req), { items: await withRelationships(req, page.items), next: page.next && encodeCursor(page.next) });
  }

  return async (app: FastifyInstance) => {
    const base = '/intelligence/hunting_rulesets';
    app.get(base, (req) => listPage(req));
    app.post(base, async (req) => {
      await deps.quotas.checkRulesets(req.user);
      return { data: rulesetObject(origin(req), await rulesets.create(req.user, bodyAttributes(req.body))) };
    });
    app.delete(base, async (req) => {
      const confirm = req.headers['x-confirm-delete'];
      await rulesets.deleteAll(req.user, Array.isArray(confirm) ? confirm[0] : confirm);
      return {};
    });
    // A Trawl addition for the web editor: the problems of a source with their line and column,
    // checked as saving checks it; nothing is stored.
    app.post(`${base}/validate`, async (req) => {
      const d = await rulesets.diagnose(bodyAttributes(req.body));
      return { data: { valid: d.valid, rule_names: d.ruleNames, diagnostics: d.diagnostics } };
    });
    app.get<WithId>(`${base}/:id`, async (req) => ({ data: (await withRelationships(req, [await rulesets.visible(req.user, req.params.id)]))[0] }));
    app.patch<WithId>(`${base}/:id`, async (req) => {
      const current = rulesetAttributes(await rulesets.visible(req.user, req.params.id));
      const updated = await rulesets.update(req.user, req.params.id, bodyAttributes(req.body, req.params.id), current);
      return { data: rulesetObject(origin(req), updated) };
    });
    app.delete<WithId>(`${base}/:id`, async (req) => {
      await rulesets.delete(req.user, req.params.id);
      return {};
    });

    const rel = `${base}/:id/relationships`;
    const users = (req: FastifyRequest, list: UserRecord[], full: boolean, groups: GroupRecord[] = []) => ({
      data: [
        ...list.map((u) => (full ? userObject(origin(req), u, req) : { type: 'user', id: u.username })),
        ...groups.map((g) => (full ? groupObject(origin(req), g) : groupDescriptor(g))),
      ],
      meta: { count: list.length + groups.length },
      links: { self: absoluteUrl(origin(req), req.url.split('?')[0]!) },
    });
    const one = (req: FastifyRequest, u: UserRecord | null, full: boolean) => ({
      data: u ? (full ? userObject(origin(req), u, req) : { type: 'user', id: u.username }) : null,
      links: { self: absoluteUrl(origin(req), req.url.split('?')[0]!) },
    });
    for (const full of [true, false]) {
      const prefix = full ? `${base}/:id` : rel;
      // Users who edit it, then the groups it is shared with (spec 7.2).
      app.get<WithId>(`${prefix}/editors`, async (req) =>
        users(req, await rulesets.editors(req.user, req.params.id), full, await rulesets.editorGroups(req.user, req.params.id)));
      app.get<WithId>(`${prefix}/owner`, async (req) => one(req, await rulesets.owner(req.user, req.params.id), full));
      app.get<WithId>(`${prefix}/viewers`, async (req) => {
        await rulesets.visible(req.user, req.params.id);
        return users(req, [], full);
      });
    }
    app.post<WithId>(`${rel}/editors`, async (req) => {
      const groups: string[] = [];
      const names = userIds(req.body, groups);
      if (names.length) await rulesets.grantEditors(req.user, req.params.id, names);
      if (groups.length) await rulesets.grantGroups(req.user, req.params.id, groups);
      return {};
    });
    app.get<{ Params: { id: string; user: string } }>(`${rel}/editors/:user`, async (req) => ({
      data: await rulesets.isEditor(req.user, req.params.id, req.params.user),
    }));
    app.delete<{ Params: { id: string; user: string } }>(`${rel}/editors/:user`, async (req) => {
      await rulesets.revokeEditor(req.user, req.params.id, req.params.user);
      return {};
    });
    app.post<WithId>(`${rel}/owner`, async (req) => {
      const [to] = userIds({ data: [(req.body as { data?: unknown } | undefined)?.data] });
      return { data: rulesetObject(origin(req), await rulesets.transfer(req.user, req.params.id, to!)) };
    });

    // "Rulesets editable by the user", owner-only like every user relationship.
    app.get<WithId>('/users/:id/hunting_rulesets', async (req) => {
      requireSelf(req, req.params.id);
      return listPage(req);
    });
  };
}
