// Hunting notifications as queries on a Kysely database (used by sql-store.ts): storing them
// under each ruleset's rate limit, and reading them in (date, id) order through the indexes of
// migration 0003. A query's scope is a union (own notifications, shared rulesets); each part is
// one index walk and the parts are merged here.
import { CompiledQuery, sql, type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SelectQueryBuilder, type SqlBool } from 'kysely';
import { limitReached } from '../../model/rate-limit.js';
import { recordFields, storedStreamContext } from '../../model/stream-context.js';
import type { NewNotification, NotificationQuery, NotificationRecord, RateLimitState, StoredNotifications, StreamEntry } from '../store.js';
import { shapesOf } from './compiled-shapes.js';
import type { SqlDialect } from './dialect.js';
import type { Database, HuntingNotificationsTable } from './schema.js';
import { rowGuard } from './row-guard.js';

const DAY = 86_400;

/**
 * The columns a NotificationRecord is made from: those that indexes and constraints need, and the
 * stored stream context, the only copy of the rest (model/stream-context.ts, migration 0007).
 */
const RECORD_COLUMNS = ['id', 'owner_id', 'ruleset_id', 'date', 'sha256', 'submission_id', 'rule_name', 'stream_context'] as const;
const QUALIFIED_COLUMNS = RECORD_COLUMNS.map((c) => `hunting_notifications.${c}` as const);

type RecordRow = Pick<Selectable<HuntingNotificationsTable>, (typeof RECORD_COLUMNS)[number]>;

export function toNotification(r: RecordRow): NotificationRecord {
  return {
    id: Number(r.id),
    entityType: 'file',
    ownerId: Number(r.owner_id),
    rulesetId: Number(r.ruleset_id),
    date: Number(r.date),
    sha256: r.sha256,
    submissionId: Number(r.submission_id),
    ruleName: r.rule_name,
    ...recordFields(r.stream_context),
  };
}

async function insertOne(tx: Kysely<Database>, n: NewNotification): Promise<NotificationRecord | null> {
  const row = await tx.insertInto('hunting_notifications').values({
    owner_id: n.ownerId, ruleset_id: n.rulesetId, date: n.date, entity_type: 'file', sha256: n.sha256,
    submission_id: n.submissionId, rule_name: n.ruleName, stream_context: storedStreamContext(n),
  })
    .onConflict((oc) => oc.columns(['submission_id', 'ruleset_id', 'rule_name']).doNothing())
    .returning('id').executeTakeFirst();
  if (!row) return null;
  const id = Number(row.id);
  const tags = [...new Set(n.tags)];
  if (tags.length > 0) {
    await tx.insertInto('hunting_notification_tags')
      .values(tags.map((tag) => ({ owner_id: n.ownerId, tag, date: n.date, notification_id: id })))
      .onConflict((oc) => oc.doNothing()).execute();
  }
  // As it reads back: the context keeps no empty snippet.
  return { ...n, snippet: n.snippet || null, id, entityType: 'file' };
}

/** Inside the caller's transaction: stores notifications under each ruleset's limit (see Store.completeAnalysis). */
export async function insertNotifications(
  tx: Kysely<Database>, dialect: SqlDialect, list: NewNotification[], opts: { emails?: boolean; emailDelayMs?: number },
): Promise<StoredNotifications> {
  const out: StoredNotifications = { stored: [], rateLimited: {}, gone: 0 };
  const byRuleset = new Map<number, NewNotification[]>();
  for (const n of list) byRuleset.set(n.rulesetId, [...(byRuleset.get(n.rulesetId) ?? []), n]);
  for (const [rulesetId, group] of byRuleset) {
    const r = await dialect.lockRows(
      tx.selectFrom('hunting_rulesets')
        .select(['enabled', 'notification_limit', 'notification_emails', 'limited_from', 'limited_until', 'limited_log'])
        .where('id', '=', rulesetId),
    ).executeTakeFirst();
    if (!r || Number(r.enabled) !== 1) {
      out.gone += group.length;
      continue;
    }
    const limit = Number(r.notification_limit);
    const now = Math.max(...group.map((n) => n.date));
    const inWindow = async () => {
      const c = await tx.selectFrom((eb) => eb.selectFrom('hunting_notifications').select('id')
        .where('ruleset_id', '=', rulesetId).where('date', '>', now - DAY).limit(limit).as('w'))
        .select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
      return Number(c.n);
    };
    let room = limit > 0 ? limit - (await inWindow()) : 0;
    let dropped = 0;
    const stored: NotificationRecord[] = [];
    for (const n of group) {
      if (room <= 0) {
        dropped++;
        continue;
      }
      const rec = await insertOne(tx, n);
      if (rec) {
        stored.push(rec);
        room--;
      }
    }
    if (room <= 0) {
      // The limit is reached: record the period until the oldest notification in the window ages out.
      const oldest = await tx.selectFrom('hunting_notifications').select('date').where('ruleset_id', '=', rulesetId)
        .where('date', '>', now - DAY).orderBy('date').limit(1).executeTakeFirst();
      const before: RateLimitState = {
        from: r.limited_from === null ? null : Number(r.limited_from),
        until: r.limited_until === null ? null : Number(r.limited_until),
        log: JSON.parse(r.limited_log) as [number, number][],
      };
      const next = limitReached(before, now, (oldest ? Number(oldest.date) : now) + DAY);
      await tx.updateTable('hunting_rulesets')
        .set({ limited_from: next.from, limited_until: next.until, limited_log: JSON.stringify(next.log) })
        .where('id', '=', rulesetId).execute();
    }
    if (dropped > 0) out.rateLimited[rulesetId] = dropped;
    out.stored.push(...stored);
    if (opts.emails && stored.length > 0 && r.notification_emails !== '[]') await queueEmails(tx, rulesetId, stored, opts.emailDelayMs ?? 0);
  }
  return out;
}

/** Marks notifications for e-mail and makes sure one `email` job for the ruleset is queued. */
async function queueEmails(tx: Kysely<Database>, rulesetId: number, stored: NotificationRecord[], delayMs: number): Promise<void> {
  await tx.insertInto('pending_emails').values(stored.map((n) => ({ notification_id: n.id, ruleset_id: rulesetId })))
    .onConflict((oc) => oc.doNothing()).execute();
  const key = `email:${rulesetId}`;
  const queued = await tx.selectFrom('jobs').select('id').where('job_key', '=', key).where('state', '=', 'queued').executeTakeFirst();
  if (queued) return;
  // Two processes may both queue one; the second finds nothing pending and sends nothing.
  await tx.insertInto('jobs').values({
    kind: 'email', payload: JSON.stringify({ rulesetId }), state: 'queued', attempts: 0,
    run_after: Date.now() + delayMs, locked_by: null, locked_until: null, last_error: null, job_key: key, lane: 'email',
  }).execute();
}

/** The database as a tag-driven part sees it: tag rows aliased `lead`. */
type Led = Database & { lead: Database['hunting_notification_tags'] };
type Eb = ExpressionBuilder<Led, 'hunting_notifications' | 'lead'>;
/** The (date, id) columns a part walks in order: the notification's, or the leading tag row's. */
type Order = readonly ['hunting_notifications.date', 'hunting_notifications.id'] | readonly ['lead.date', 'lead.notification_id'];
const OWN: Order = ['hunting_notifications.date', 'hunting_notifications.id'];
const LEAD: Order = ['lead.date', 'lead.notification_id'];

/** Conditions every part of a query shares: dates, entity, sources, tags (beyond a leading one), position. */
function narrow(eb: Eb, q: NotificationQuery, tags: readonly string[], [date, id]: Order, guard: Expression<SqlBool> | null): Expression<SqlBool> {
  const c: Expression<SqlBool>[] = guard ? [guard] : [];
  if (q.dateFrom !== undefined) c.push(eb(date, '>=', q.dateFrom));
  if (q.dateTo !== undefined) c.push(eb(date, '<', q.dateTo));
  if (q.entityId !== undefined) c.push(eb('hunting_notifications.sha256', '=', q.entityId));
  if (q.sourceIds !== undefined) c.push(eb('hunting_notifications.ruleset_id', 'in', q.sourceIds.length ? q.sourceIds : [-1]));
  for (const tag of tags) {
    c.push(eb.exists(eb.selectFrom('hunting_notification_tags as t').select('t.tag')
      .whereRef('t.notification_id', '=', 'hunting_notifications.id').where('t.tag', '=', tag)));
  }
  if (q.after) {
    const cmp = q.order === 'asc' ? '>' : '<';
    c.push(eb(eb.refTuple(date, id), cmp, eb.tuple(q.after.date, q.after.id)));
  }
  return eb.and(c);
}

/**
 * One part of a query's scope as a select of notification rows, unordered and unlimited, with
 * the columns to order it by so that the walk follows an index.
 */
function part(db: Kysely<Database>, q: NotificationQuery, who: Who) {
  const [first, ...rest] = q.tags ?? [];
  if ('ownerId' in who && first !== undefined) {
    // Driven by the tag index (owner_id, tag, date, notification_id): the tag is the selective
    // part, and its rows carry the notification's date, so the walk stays in index order.
    const query = db.selectFrom('hunting_notification_tags as lead')
      .innerJoin('hunting_notifications', 'hunting_notifications.id', 'lead.notification_id')
      .select(QUALIFIED_COLUMNS)
      .where('lead.owner_id', '=', who.ownerId).where('lead.tag', '=', first)
      .where((eb) => narrow(eb as Eb, q, rest, LEAD, rowGuard(db)));
    return { query, order: LEAD };
  }
  const query = db.selectFrom('hunting_notifications').select(QUALIFIED_COLUMNS)
    .where('ownerId' in who ? 'owner_id' : 'ruleset_id', '=', 'ownerId' in who ? who.ownerId : who.rulesetId)
    .where((eb) => narrow(eb as unknown as Eb, q, q.tags ?? [], OWN, rowGuard(db)));
  return { query, order: OWN };
}

type Who = { ownerId: number } | { rulesetId: number };

function parts(q: NotificationQuery): Who[] {
  return [...q.scope.ownerIds.map((ownerId) => ({ ownerId })), ...q.scope.rulesetIds.map((rulesetId) => ({ rulesetId }))];
}

/** A notification row (typed loosely: the readings select different columns). */
type Row = RecordRow & Record<string, unknown>;

/** What a list reads of each row: a record, the position only, or a stream entry (position, file, stored context). */
type Reading = 'all' | 'ids' | 'stream';

/**
 * The positions of a part led by a tag and narrowed by nothing but dates and position: its tag
 * rows alone, without their notifications (the tag rows carry id and date, and are deleted with
 * them). A count of 1,000 `notification_tag:` positions then walks one index instead of also
 * fetching 1,000 notification rows scattered over the table.
 */
function tagPositions(db: Kysely<Database>, q: NotificationQuery, who: Who) {
  const [first, ...rest] = q.tags ?? [];
  if (!('ownerId' in who) || first === undefined || rest.length > 0 || q.entityId !== undefined || q.sourceIds !== undefined) return null;
  return db.selectFrom('hunting_notification_tags as lead').select(['lead.notification_id as id', 'lead.date as date'])
    .where('lead.owner_id', '=', who.ownerId).where('lead.tag', '=', first)
    .where((eb) => narrow(eb as unknown as Eb, q, [], LEAD, rowGuard(db)));
}

/** One part's rows for `reading`, in `q`'s order, at most `q.limit` of them. */
function partRows(db: Kysely<Database>, q: NotificationQuery, who: Who, reading: Reading) {
  const dir = q.order === 'asc' ? 'asc' : 'desc';
  const tagOnly = reading === 'ids' ? tagPositions(db, q, who) : null;
  const { query, order } = tagOnly ? { query: tagOnly, order: LEAD } : part(db, q, who);
  // Typed loosely here: every form selects notification columns (ids: id and date only).
  let qb = query as unknown as SelectQueryBuilder<Database, 'hunting_notifications', Row>;
  // (Tag positions select just the positions already.)
  if (reading === 'ids' && !tagOnly) {
    qb = qb.clearSelect().select(['hunting_notifications.id', 'hunting_notifications.date']) as unknown as typeof qb;
  } else if (reading === 'stream') {
    qb = qb.clearSelect()
      .select(['hunting_notifications.id', 'hunting_notifications.date', 'hunting_notifications.sha256', 'hunting_notifications.stream_context']) as unknown as typeof qb;
  }
  // The limit is part of the text, not a parameter: PostgreSQL re-plans a prepared statement
  // with `LIMIT $n` on every run (its generic plan assumes a large limit), and planning was half
  // of its time per page. Limits come in a few values, each its own statement.
  return (qb as unknown as { orderBy(c: string, d: 'asc' | 'desc'): typeof qb }).orderBy(order[0], dir)
    .orderBy(order[1], dir).limit(sql.lit(Math.max(0, Math.trunc(q.limit))));
}

const NO_SCOPE = { ownerIds: [], rulesetIds: [] };

/** Newest tag rows read per tag to choose the one that leads a part. */
const LEAD_PROBE = 1000;

/**
 * `q` as the part of owner `who` walks it best: its rarest tag first (it leads the walk, the
 * others are checked on each of its rows), or null when some tag is on none of the owner's
 * notifications (the part is empty). Led by a tag on every notification and narrowed by one on
 * none, a page walked all of the first tag's rows for nothing: 1M rows, 1.3-1.8 s. A tag's
 * newest LEAD_PROBE rows tell how rare it is: fewer rows, or the same number spread further back.
 */
async function leadRarest(db: Kysely<Database>, q: NotificationQuery, who: Who, mark: string): Promise<NotificationQuery | null> {
  if (!('ownerId' in who) || (q.tags?.length ?? 0) < 2) return q;
  const probes = await Promise.all(q.tags!.map(async (tag) => {
    const rows = await shapesOf(db).rows('tag probe', { ownerId: who.ownerId, tag }, [], (a) => db
      .selectFrom(db.selectFrom('hunting_notification_tags').select('date')
        .where('owner_id', '=', a.ownerId).where('tag', '=', a.tag).orderBy('date', 'desc').limit(sql.lit(LEAD_PROBE)).as('p'))
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.min('date').as('oldest')]), mark);
    const row = rows[0] as { n: unknown; oldest: unknown } | undefined;
    return { n: Number(row?.n ?? 0), oldest: Number(row?.oldest ?? 0) };
  }));
  if (probes.some((p) => p.n === 0)) return null;
  // Fewest rows first; among tags with LEAD_PROBE rows or more, the one whose newest reach back furthest.
  const rarer = (a: { n: number; oldest: number }, b: { n: number; oldest: number }) => a.n - b.n || a.oldest - b.oldest;
  let lead = 0;
  for (let i = 1; i < probes.length; i++) if (rarer(probes[i]!, probes[lead]!) < 0) lead = i;
  return lead === 0 ? q : { ...q, tags: [q.tags![lead]!, ...q.tags!.filter((_, i) => i !== lead)] };
}

/**
 * The page's rows: each part of the scope walked in order with its limit, then merged. `mark`:
 * the request's, before each statement (query-signal.ts).
 */
async function rows(db: Kysely<Database>, q: NotificationQuery, reading: Reading, mark: string): Promise<Row[]> {
  if (parts(q).length === 0 || q.limit <= 0) return [];
  const compiled = shapesOf(db);
  const dir = q.order === 'asc' ? 'asc' : 'desc';
  // A part's query depends on the scope only through `who`; the order and the reading shape it.
  const pages = await Promise.all(parts(q).map(async (who) => {
    const led = await leadRarest(db, q, who, mark);
    return led ? compiled.rows(
      'notifications', { q: { ...led, scope: NO_SCOPE }, who, reading }, ['order', 'reading', 'limit'],
      (a) => partRows(db, a.q, a.who, a.reading), mark,
    ) : [];
  }));
  if (pages.length === 1) return pages[0]!;
  // Merge the parts; a notification reachable through two parts appears once.
  const seen = new Set<number>();
  const sign = dir === 'asc' ? 1 : -1;
  return pages.flat()
    .filter((r) => !seen.has(Number(r.id)) && seen.add(Number(r.id)))
    .sort((a, b) => sign * (Number(a.date) - Number(b.date) || Number(a.id) - Number(b.id)))
    .slice(0, q.limit);
}

export async function list(db: Kysely<Database>, q: NotificationQuery, mark = ''): Promise<NotificationRecord[]> {
  return (await rows(db, q, 'all', mark)).map(toNotification);
}

/**
 * The ids of what `list` would return, in its order. Bulk deletes walk with it: reading 500 full
 * rows per batch on the event loop (and parsing them, on PostgreSQL) slowed the pages served meanwhile.
 */
export async function listIds(db: Kysely<Database>, q: NotificationQuery, mark = ''): Promise<number[]> {
  return (await rows(db, q, 'ids', mark)).map((r) => Number(r.id));
}

/** What list selects, as stream entries: the stored context as it is. */
export async function listStream(db: Kysely<Database>, q: NotificationQuery, mark = ''): Promise<StreamEntry[]> {
  return (await rows(db, q, 'stream', mark)).map((r) => ({
    id: Number(r.id), date: Number(r.date), sha256: r.sha256, context: r.stream_context,
  }));
}

/** `c` with `mark` before its text. */
const marked = <R>(c: CompiledQuery<R>, mark: string): CompiledQuery<R> => (mark ? CompiledQuery.raw(mark + c.sql, [...c.parameters]) as CompiledQuery<R> : c);

/** The count_limit defaults (of the IoC Stream and of the hunting notification lists) and the spec's maximum. */
const SHAPED_COUNT_LIMITS = new Set([200, 1000, 10_000]);

/**
 * `select count(*)` over at most `q.limit` rows of one part: the part's positions as a page reads
 * them, ordered and with the limit in the text. A count needs no order, but the order keeps
 * PostgreSQL's generic plan of the prepared statement on the part's own index. Unordered, it
 * walked a unique index whole, skipping on a later column, for `ruleset_id = $2` (270 ms for an
 * empty ruleset at 10M).
 */
function countQuery(db: Kysely<Database>, q: NotificationQuery, who: Who) {
  return db.selectFrom(partRows(db, q, who, 'ids').as('c')).select((eb) => eb.fn.countAll().as('n'));
}

/**
 * How many `q` selects, counting at most `cap`. Compiled once per shape like pages: a count that
 * does not reach its cap is run on every page, and building and planning it cost as much as
 * counting (a date window or an entity_id page counts every time).
 */
export async function count(db: Kysely<Database>, q: NotificationQuery, cap: number, mark = ''): Promise<number> {
  const compiled = shapesOf(db);
  let total = 0;
  for (const who of parts(q)) {
    if (total >= cap) break;
    const led = await leadRarest(db, q, who, mark);
    if (!led) continue;
    const unpositioned = { ...led, after: undefined, scope: NO_SCOPE, limit: cap - total };
    // The limit is in the text, and clients choose count_limit: only the usual ones become
    // statements PostgreSQL keeps, so that their number stays bounded.
    const [row] = SHAPED_COUNT_LIMITS.has(unpositioned.limit)
      ? await compiled.rows('count', { q: unpositioned, who }, ['order', 'limit'], (a) => countQuery(db, a.q, a.who), mark)
      : (await db.executeQuery(marked(countQuery(db, unpositioned, who).compile(), mark))).rows;
    total += Number((row as { n: unknown }).n);
  }
  return Math.min(total, cap);
}

export async function get(db: Kysely<Database>, id: number): Promise<NotificationRecord | null> {
  const row = await db.selectFrom('hunting_notifications').select(RECORD_COLUMNS).where('id', '=', id).executeTakeFirst();
  return row ? toNotification(row) : null;
}

/** Inside a transaction: deletes notifications with their tags and pending e-mails. */
export async function remove(tx: Kysely<Database>, ids: number[]): Promise<number> {
  let n = 0;
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    await tx.deleteFrom('hunting_notification_tags').where('notification_id', 'in', chunk).execute();
    await tx.deleteFrom('pending_emails').where('notification_id', 'in', chunk).execute();
    const r = await tx.deleteFrom('hunting_notifications').where('id', 'in', chunk).executeTakeFirst();
    n += Number(r.numDeletedRows);
  }
  return n;
}

export async function pendingEmails(db: Kysely<Database>, rulesetId: number, max: number): Promise<{ notifications: NotificationRecord[]; waiting: number }> {
  const rows = await db.selectFrom('pending_emails')
    .innerJoin('hunting_notifications', 'hunting_notifications.id', 'pending_emails.notification_id')
    .select(QUALIFIED_COLUMNS).where('pending_emails.ruleset_id', '=', rulesetId)
    .orderBy('hunting_notifications.id').limit(max).execute();
  const c = await db.selectFrom('pending_emails').select((eb) => eb.fn.countAll().as('n')).where('ruleset_id', '=', rulesetId).executeTakeFirstOrThrow();
  return { notifications: rows.map(toNotification), waiting: Number(c.n) };
}

export async function clearPendingEmails(tx: Kysely<Database>, ids: number[]): Promise<void> {
  for (let i = 0; i < ids.length; i += 500) {
    await tx.deleteFrom('pending_emails').where('notification_id', 'in', ids.slice(i, i + 500)).execute();
  }
}

export async function idsBefore(db: Kysely<Database>, date: number, max: number): Promise<number[]> {
  const rows = await db.selectFrom('hunting_notifications').select('id').where('date', '<', date)
    .orderBy('date').orderBy('id').limit(max).execute();
  return rows.map((r) => Number(r.id));
}

export async function afterId(db: Kysely<Database>, id: number, max: number): Promise<NotificationRecord[]> {
  const rows = await db.selectFrom('hunting_notifications').select(RECORD_COLUMNS).where('id', '>', id).orderBy('id').limit(max).execute();
  return rows.map(toNotification);
}

export async function lastId(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('hunting_notifications').select((eb) => eb.fn.max('id').as('m')).executeTakeFirst();
  return Number(row?.m ?? 0);
}
