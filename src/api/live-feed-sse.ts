// `GET /api/v3/ioc_stream` with `Accept: text/event-stream`: the IoC Stream as server-sent events,
// a Trawl addition. Each event is one stream item (the same JSON as a page's items) whose id is
// a cursor; a client reconnecting with `Last-Event-ID` (or `cursor=`) first gets what it missed,
// oldest first, then new notifications as they are stored. Comments keep idle connections alive.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { NotificationPosition, NotificationQuery, UserRecord } from '../store/store.js';
import { isAfter, matchesQuery } from '../stream/notification-match.js';
import type { FeedEvent } from '../stream/live-feed.js';
import { TrawlError } from '../model/errors.js';
import type { ApiDeps } from './app.js';
import { decodeCursor, encodeCursor, isPosition, originOf, queryValue } from './envelope.js';
import { streamEntryOf, streamItemJson } from './serializers/ioc-stream.js';
import { streamItemTexts } from '../stream/stream-pages.js';
import { streamSerializer } from './stream-serializer.js';

const HEARTBEAT_MS = 15_000;
/**
 * How often a follower's right to follow is checked again: their key (a deleted user or a rotated
 * key ends the feed), their account (disabled), and the rulesets shared with them (a followed
 * ruleset no longer theirs to see ends it; otherwise the scope just follows the change).
 */
const RECHECK_MS = 1_000;
const CATCH_UP_PAGE = 200;

export async function serveLiveFeed(deps: ApiDeps, req: FastifyRequest, reply: FastifyReply): Promise<void> {
  const { stream, feed, config, fileDocuments } = deps;
  const origin = originOf(req, config.publicUrl);
  const descriptorsOnly = /^(true|1)$/i.test(queryValue(req, 'descriptors_only') ?? '');
  // Everything that can be refused is checked before the stream starts: errors are still JSON.
  let query: NotificationQuery = await stream.query(req.user, queryValue(req, 'filter'));
  const resume = (req.headers['last-event-id'] as string | undefined) ?? queryValue(req, 'cursor');
  let position: NotificationPosition | undefined = resume ? decodeCursor(resume, isPosition) : undefined;
  const followed = await visibleSources(deps, req.user, query);

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
  // Under the idle timeout, so a quiet feed is not taken for a dead connection.
  const heartbeatMs = config.idleTimeout > 0 ? Math.min(HEARTBEAT_MS, (config.idleTimeout * 1000) / 2) : HEARTBEAT_MS;
  const heartbeat = setInterval(() => res.write(': keepalive\n\n'), heartbeatMs);
  let closed = false;
  let checking = false;
  const recheck = setInterval(() => {
    if (checking || closed) return;
    checking = true;
    void stillAllowed(deps, req.apikeyHash, query, followed)
      .then((r) => {
        if (closed) return;
        if (r instanceof TrawlError) return end(r);
        query = { ...query, scope: query.scope.ownerIds.length || query.scope.rulesetIds.length ? r : query.scope };
      }, (err: unknown) => req.log.warn({ err }, 'live feed: could not check the follower again'))
      .finally(() => (checking = false));
  }, RECHECK_MS);
  const close = () => {
    closed = true;
    stop();
    clearInterval(heartbeat);
    clearInterval(recheck);
  };
  /** Ends the feed with an `error` event carrying the VirusTotal error that says why. */
  const end = (e: TrawlError) => {
    res.write(`event: error\ndata: ${JSON.stringify({ error: { code: e.code, message: e.message } })}\n\n`);
    res.end();
    close();
  };
  res.on('close', close);

  try {
    await ready;
    if (position) {
      for (;;) {
        if (closed) return;
        const page = await stream.list(req.user, { filter: queryValue(req, 'filter'), order: 'asc', limit: CATCH_UP_PAGE, after: position });
        const texts = await streamItemTexts(streamSerializer, fileDocuments, origin, page.items, descriptorsOnly);
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

/** The rulesets a feed's `source_id:` terms follow that its user may see now (`scope`: theirs now). */
async function visibleSources(deps: ApiDeps, user: UserRecord, query: NotificationQuery, scope?: NotificationQuery['scope']): Promise<number[]> {
  if (!query.sourceIds?.length) return [];
  const shared = new Set((scope ?? (await deps.notifications.scope(user))).rulesetIds);
  const found = await Promise.all(query.sourceIds.map((id) => deps.store.getRuleset(id)));
  return found.filter((r) => r && (r.ownerId === user.id || shared.has(r.id))).map((r) => r!.id);
}

/**
 * The follower's scope now, or the error that ends their feed: their key no longer names a user
 * (deleted, or the key rotated), the user is disabled, or a ruleset they followed is no longer
 * theirs to see.
 */
async function stillAllowed(deps: ApiDeps, apikeyHash: string, query: NotificationQuery, followed: number[]): Promise<NotificationQuery['scope'] | TrawlError> {
  const user = await deps.store.getUserByKeyHash(apikeyHash);
  if (!user) return new TrawlError('WrongCredentialsError', 'the API key of this feed is no longer valid');
  if (user.disabled) return new TrawlError('UserNotActiveError', `User "${user.username}" is not active`);
  const scope = await deps.notifications.scope(user);
  if (followed.length > 0) {
    const now = new Set(await visibleSources(deps, user, query, scope));
    if (followed.some((id) => !now.has(id))) return new TrawlError('ForbiddenError', 'a ruleset this feed follows is no longer shared with you');
  }
  return scope;
}
