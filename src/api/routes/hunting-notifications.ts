// Hunting notifications (spec 3.2, 7.1): /intelligence/hunting_notifications, the
// hunting_notification_files lists (a user's, or one ruleset's) and the user relationships. Thin
// HTTP glue over stream/hunting-notifications.ts.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { NotificationListRequest } from '../../stream/hunting-notifications.js';
import { matchedSubfiles } from '../../stream/matched-subfiles.js';
import type { ApiDeps } from '../app.js';
import { requireSelf } from '../auth.js';
import { clientSignal } from '../client-signal.js';
import { absoluteUrl, collection, decodeCursor, encodeCursor, isPosition, originOf, parseCountLimit, parseLimit, queryValue, sendCollectionJson, type VtObject } from '../envelope.js';
import { fileObject } from '../serializers/file.js';
import { notificationFileItemJson, notificationObject } from '../serializers/hunting-notification.js';

type WithId = { Params: { id: string } };

/** `count_limit`: default 200 (spec 1.4). */
const countLimit = (req: FastifyRequest) => parseCountLimit(queryValue(req, 'count_limit'), 200);

/** Names asked for with `relationships=a,b`. */
const relationshipsOf = (req: FastifyRequest) => new Set((queryValue(req, 'relationships') ?? '').split(',').map((s) => s.trim()).filter(Boolean));

export function huntingNotificationRoutes(deps: ApiDeps) {
  const { notifications, config } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  function request(req: FastifyRequest, reply: FastifyReply, rulesetId?: number): NotificationListRequest {
    const cursor = queryValue(req, 'cursor');
    return {
      signal: clientSignal(reply),
      filter: queryValue(req, 'filter'),
      order: queryValue(req, 'order'),
      limit: parseLimit(queryValue(req, 'limit'), 100),
      ...(cursor ? { after: decodeCursor(cursor, isPosition) } : {}),
      ...(rulesetId !== undefined ? { rulesetId } : {}),
    };
  }

  async function notificationPage(req: FastifyRequest, reply: FastifyReply) {
    const page = await notifications.list(req.user, request(req, reply));
    const withFile = relationshipsOf(req).has('file');
    const items = page.items.map((n) => notificationObject(origin(req), n, withFile));
    const count = await notifications.count(page.query, countLimit(req));
    return collection(req, origin(req), { items, next: page.next && encodeCursor(page.next) }, { count });
  }

  async function filePage(req: FastifyRequest, reply: FastifyReply, full: boolean, rulesetId?: number) {
    const synced = full ? deps.fileDocuments.fresh() : undefined;
    const page = await notifications.list(req.user, request(req, reply, rulesetId));
    const docs = synced ? await deps.fileDocuments.attributes(page.items.map((n) => n.sha256), synced) : new Map<string, string>();
    const items = page.items.map((n) => notificationFileItemJson(origin(req), n, docs.get(n.sha256), full));
    const count = await notifications.count(page.query, countLimit(req));
    return sendCollectionJson(req, reply, origin(req), { items: items.join(','), n: items.length, next: page.next && encodeCursor(page.next) }, { count });
  }

  return async (app: FastifyInstance) => {
    const base = '/intelligence/hunting_notifications';
    app.get(base, (req, reply) => notificationPage(req, reply));
    app.delete(base, async (req) => {
      await notifications.deleteAll(req.user, queryValue(req, 'tag') || undefined);
      return {};
    });
    app.get<WithId>(`${base}/:id`, async (req) => ({
      data: notificationObject(origin(req), await notifications.visible(req.user, req.params.id), relationshipsOf(req).has('file')),
    }));
    app.delete<WithId>(`${base}/:id`, async (req) => {
      await notifications.delete(req.user, req.params.id);
      return {};
    });
    // Trawl's own, for the web app: the bundled files (any depth) holding the notification's
    // highlighted bytes, i.e. the member a `match_in_subfile` notification matched in.
    app.get<WithId>(`${base}/:id/matched_subfiles`, async (req) => {
      const n = await notifications.visible(req.user, req.params.id);
      const found = await matchedSubfiles(deps.store, deps.blobs, n);
      return {
        data: found.items.map((m) => ({ type: 'file', id: m.sha256, context_attributes: { parent: m.parent, name: m.name, via: m.via } })),
        meta: { searched: found.searched, truncated: found.truncated },
      };
    });
    app.get<WithId>(`${base}/:id/file`, async (req) => {
      const n = await notifications.visible(req.user, req.params.id);
      const [file] = await deps.store.getFiles([n.sha256]);
      return { data: file ? fileObject(origin(req), file) : null, links: { self: absoluteUrl(origin(req), req.url.split('?')[0]!) } };
    });
    app.get<WithId>(`${base}/:id/relationships/file`, async (req) => {
      const n = await notifications.visible(req.user, req.params.id);
      return { data: { type: 'file', id: n.sha256 }, links: { self: absoluteUrl(origin(req), req.url.split('?')[0]!) } };
    });

    app.get('/intelligence/hunting_notification_files', (req, reply) => filePage(req, reply, true));

    // One ruleset's notification files, for its owner and editors (anyone else: NotFoundError).
    for (const prefix of ['/intelligence/hunting_rulesets/:id', '/intelligence/hunting_rulesets/:id/relationships']) {
      app.get<WithId>(`${prefix}/hunting_notification_files`, async (req, reply) => {
        const ruleset = await deps.rulesets.visible(req.user, req.params.id);
        return filePage(req, reply, !prefix.endsWith('/relationships'), ruleset.id);
      });
    }

    // The same lists as relationships of the user, owner-only (spec 7.1).
    for (const prefix of ['/users/:id', '/users/:id/relationships']) {
      const full = prefix === '/users/:id';
      app.get<WithId>(`${prefix}/hunting_notifications`, async (req, reply) => {
        requireSelf(req, req.params.id);
        if (full) return notificationPage(req, reply);
        const page = await notifications.list(req.user, request(req, reply));
        const items = page.items.map((n) => ({ type: 'hunting_notification', id: String(n.id) }));
        return collection(req, origin(req), { items, next: page.next && encodeCursor(page.next) }, { count: await notifications.count(page.query, countLimit(req)) });
      });
      app.get<WithId>(`${prefix}/hunting_notification_files`, async (req, reply) => {
        requireSelf(req, req.params.id);
        return filePage(req, reply, full);
      });
    }
  };
}
