// `GET /api/v3/ioc_stream` with `Accept: text/event-stream`: the IoC Stream as server-sent events,
// a Trawl addition. Each event is one stream item (the same JSON as a page's items) whose id is
// a cursor; a client reconnecting with `Last-Event-ID` (or `cursor=`) first gets what it missed,
// oldest first, then new notifications as they are stored. Comments keep idle connections alive.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NotificationPosition, NotificationQuery } from '../store/store.js';
import { isAfter, matchesQuery } from '../stream/notification-match.js';
import type { FeedEvent } from '../stream/live-feed.js';
import type { ApiDeps } from './app.js';
import { decodeCursor, encodeCursor, isPosition, originOf, queryValue } from './envelope.js';
import { streamEntryOf, streamItemJson } from './serializers/ioc-stream.js';
import { streamItemTexts } from './stream-pages.js';

const HEARTBEAT_MS = 15_000;
/** How often a follower's scope (the rulesets shared with them) is looked up again. */
const SCOPE_REFRESH_MS = 5_000;
const CATCH_UP_PAGE = 200;

export async function serveLiveFeed(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { stream, feed, notifications, config, fileDocuments } = deps;
  const origin = originOf(req, config.publicUrl);
  const descriptorsOnly = /^(true|1)$/i.test(queryValue(req, 'descriptors_only') ?? '');
  // Everything that can be refused is checked before the stream starts: errors are still JSON.
  let query: NotificationQuery = await stream.query(req.user, queryValue(req, 'filter'));
  const resume = (req.headers['last-event-id'] as string | undefined) ?? queryValue(req, 'cursor');
  let position: NotificationPosition | undefined = resume ? decodeCursor(resume, isPosition) : undefined;

  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');

  const sent = new Set<number>();
  const send = (n: NotificationPosition, data: string) => {
    if (sent.has(n.id) || (position && !isAfter(n, position))) return;
    sent.add(n.id);
    if (sent.size > 10_000) sent.delete(sent.values().next().value!);
    res.write(`id: ${encodeCursor({ date: n.date, id: n.id })}\nevent: notification\ndata: ${data}\n\n`);
  };
  const serialize = (e: FeedEvent) => {
    const key = `${origin} ${descriptorsOnly}`;
    let data = e.cache.get(key);
    if (data === undefined) e.cache.set(key, (data = streamItemJson(origin, streamEntryOf(e.notification), e.file ? fileDocuments.serialize(e.file) : undefined, descriptorsOnly)));
    return data;
  };

  // Follow first, catch up second: what arrives meanwhile waits, and is sent once, in order.
  let live = false;
  const waiting: FeedEvent[] = [];
  const { stop, ready } = feed.follow(
    (n) => matchesQuery(query, n),
    (e) => (live ? send(e.notification, serialize(e)) : waiting.push(e)),
    () => res.end(),
  );
  const heartbeat = setInterval(() => res.write(': keepalive\n\n'), HEARTBEAT_MS);
  const refresh = setInterval(() => {
    void notifications.scope(req.user).then((scope) => (query = { ...query, scope: query.scope.ownerIds.length || query.scope.rulesetIds.length ? scope : query.scope }), () => undefined);
  }, SCOPE_REFRESH_MS);
  let closed = false;
  const close = () => {
    closed = true;
    stop();
    clearInterval(heartbeat);
    clearInterval(refresh);
  };
  res.on('close', close);

  try {
    await ready;
    if (position) {
      for (;;) {
        if (closed) return;
        const page = await stream.list(req.user, { filter: queryValue(req, 'filter'), order: 'asc', limit: CATCH_UP_PAGE, after: position });
        const texts = await streamItemTexts(fileDocuments, origin, page.items, descriptorsOnly);
        for (const [k, entry] of page.items.entries()) {
          send(entry, texts[k]!);
          position = { date: entry.date, id: entry.id };
        }
        if (!page.next) break;
      }
    }
    // From here on every event is new: order among them is the feed's.
    position = undefined;
    live = true;
    for (const e of waiting.splice(0)) send(e.notification, serialize(e));
  } catch (err) {
    req.log.warn({ err }, 'live feed catch-up failed');
    res.end();
    close();
  }
}
