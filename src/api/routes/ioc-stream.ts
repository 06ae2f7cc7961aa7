// /api/v3/ioc_stream and /api/v3/ioc_stream_notifications (spec 4): thin HTTP glue over
// stream/ioc-stream.ts; `Accept: text/event-stream` turns the same GET into the live feed.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../app.js';
import { parseDateOrder } from '../../model/filter-grammar.js';
import { boolParam, decodeCursor, encodeCursor, isPosition, originOf, parseCountLimit, parseLimit, queryValue, sendCollectionJson } from '../envelope.js';
import { streamNotificationObject } from '../serializers/ioc-stream.js';
import { serveLiveFeed } from '../live-feed-sse.js';
import { clientSignal } from '../client-signal.js';

type WithId = { Params: { id: string } };

/** How far meta.count counts (spec 10.10 leaves it open): `count_limit`, default 1,000. */
const countCap = (req: FastifyRequest) => parseCountLimit(queryValue(req, 'count_limit'), 1000);

export function iocStreamRoutes(deps: ApiDeps) {
  const { stream, notifications, config, streamPages } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  return async (app: FastifyInstance) => {
    app.get('/ioc_stream', async (req, reply) => {
      if ((req.headers.accept ?? '').includes('text/event-stream')) return serveLiveFeed(deps, req, reply);
      const cursor = queryValue(req, 'cursor');
      const page = await streamPages.read({
        user: req.user,
        stream: {
          filter: queryValue(req, 'filter'),
          order: parseDateOrder(queryValue(req, 'order')),
          limit: parseLimit(queryValue(req, 'limit'), 40),
          ...(cursor ? { after: decodeCursor(cursor, isPosition) } : {}),
        },
        origin: origin(req),
        descriptorsOnly: boolParam(req, 'descriptors_only'),
        countCap: countCap(req),
        sharingEpoch: notifications.sharing.epoch,
      }, clientSignal(reply));
      return sendCollectionJson(req, reply, origin(req), { items: page.items, n: page.n, next: page.next && encodeCursor(page.next) }, { count: page.count });
    });

    app.delete('/ioc_stream', async (req, reply) => {
      await stream.requestDelete(req.user, queryValue(req, 'filter'));
      return reply.code(200).type('application/json').send('');
    });

    app.get<WithId>('/ioc_stream_notifications/:id', async (req) => ({
      data: streamNotificationObject(origin(req), await notifications.visible(req.user, req.params.id)),
    }));
    app.delete<WithId>('/ioc_stream_notifications/:id', async (req, reply) => {
      await notifications.delete(req.user, req.params.id);
      return reply.code(200).type('application/json').send('');
    });
  };
}
