// Reading and deleting hunting notifications (spec 3): who sees what, the filter dialect of the
// legacy endpoints, pages in (date, id) order. The API routes and the CLI call these.
//
// A notification is visible to its owner (the owner of the ruleset that made it) and to the
// editors of that ruleset; anyone else is refused with ForbiddenError, never shown data.
import { objectNotFound } from '../model/errors.js';
import { dateRange, intersect, parseDateOrder, parseFilter, type DateRange, type FilterDialect } from '../model/filter-grammar.js';
import type { NotificationPosition, NotificationQuery, NotificationRecord, Store, UserRecord } from '../store/store.js';
import { resolveHashTags } from './file-hash-terms.js';
import { deleteAllOf, NotificationCounts, pageOf } from './pages.js';
import { SharedRulesets, type SharedRuleset } from '../hunting/rulesets/shared-rulesets.js';

export interface NotificationListRequest {
  filter?: string;
  order?: string;
  limit: number;
  after?: NotificationPosition;
  /** Only the notifications of this ruleset (its hunting_notification_files relationship). */
  rulesetId?: number;
  /** The client's: its statements are cancelled when it aborts. */
  signal?: AbortSignal;
}

export interface NotificationPage<T> {
  items: T[];
  /** Position of the last item when more may follow. */
  next?: NotificationPosition;
}

/** A file's MD5, SHA-1 or SHA-256 (notification ids are decimal and at most 15 digits). */
const FILE_HASH = /^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;

/**
 * The legacy notification lists' dialect (spec 3.3), hunting_notification_files' too: a bare word
 * is a tag (vt-py sends `filter=<ruleset name>`, Cortex XSOAR `<tag> date:...+` and a bare hash).
 */
export const NOTIFICATION_FILTER: FilterDialect = { keys: ['tag', 'owner', 'date'], bareWord: 'tag', tagKeys: ['tag'] };

export class HuntingNotifications {
  private readonly counts: NotificationCounts;

  constructor(
    private readonly store: Store,
    /** Shared with HuntingRulesets, which tells it of changes. */
    readonly sharing = new SharedRulesets(store),
  ) {
    this.counts = new NotificationCounts(store);
  }

  /** Rulesets `user` edits without owning them: their notifications are visible too. */
  private shared(user: UserRecord): Promise<readonly SharedRuleset[]> {
    return this.sharing.of(user.id);
  }

  /** Everything `user` may see, as a query scope. */
  async scope(user: UserRecord): Promise<NotificationQuery['scope']> {
    return { ownerIds: [user.id], rulesetIds: (await this.shared(user)).map((r) => r.id) };
  }

  /**
   * One notification `user` may see: NotFoundError when there is none and when it is someone
   * else's, so that ids cannot be counted by telling the two apart.
   */
  async visible(user: UserRecord, id: string): Promise<NotificationRecord> {
    const n = /^\d{1,15}$/.test(id) ? await this.store.getNotification(Number(id)) : null;
    if (!n || (n.ownerId !== user.id && !(await this.shared(user)).some((r) => r.id === n.rulesetId))) throw objectNotFound('HuntingNotification', id);
    return n;
  }

  /** The query for `filter` within what `user` may see (order, position and limit aside). */
  async query(user: UserRecord, req: Pick<NotificationListRequest, 'filter' | 'rulesetId'>): Promise<NotificationQuery> {
    const shared = await this.shared(user);
    let scope: NotificationQuery['scope'] = { ownerIds: [user.id], rulesetIds: shared.map((r) => r.id) };
    const tags: string[] = [];
    let dates: DateRange = {};
    for (const t of parseFilter(req.filter, NOTIFICATION_FILTER)) {
      switch (t.key) {
        case 'tag':
          tags.push(t.value.toLowerCase());
          break;
        case 'date':
          dates = intersect(dates, dateRange(t));
          break;
        default: {
          // owner: notifications of rulesets that user owns, among those the caller may see.
          const owner = await this.store.getUserByName(t.value);
          scope = !owner
            ? { ownerIds: [], rulesetIds: [] }
            : owner.id === user.id
              ? { ownerIds: scope.ownerIds.filter((id) => id === user.id), rulesetIds: [] }
              : { ownerIds: [], rulesetIds: shared.filter((r) => r.ownerId === owner.id).map((r) => r.id).filter((id) => scope.rulesetIds.includes(id)) };
        }
      }
    }
    return {
      scope,
      ...(tags.length ? { tags: await resolveHashTags(this.store, tags) } : {}),
      ...(dates.from !== undefined ? { dateFrom: dates.from } : {}),
      ...(dates.to !== undefined ? { dateTo: dates.to } : {}),
      ...(req.rulesetId !== undefined ? { sourceIds: [req.rulesetId] } : {}),
      order: 'desc',
      limit: 0,
    };
  }

  /** The query of one page: one more than `limit`, to know whether another page follows. */
  private async pageQuery(user: UserRecord, req: NotificationListRequest): Promise<NotificationQuery> {
    return {
      ...(await this.query(user, req)), order: parseDateOrder(req.order), limit: req.limit + 1,
      ...(req.after ? { after: req.after } : {}), ...(req.signal ? { signal: req.signal } : {}),
    };
  }

  /** A page of the notifications `user` may see. Orders: `date-` (default, newest first), `date+`. */
  async list(user: UserRecord, req: NotificationListRequest): Promise<NotificationPage<NotificationRecord> & { query: NotificationQuery }> {
    const q = await this.pageQuery(user, req);
    return { ...pageOf(await this.store.listNotifications(q), req.limit, (n) => n), query: q };
  }

  /** How many `q` selects, counting at most `cap` (see NotificationCounts). */
  count(q: NotificationQuery, cap: number): Promise<number> {
    return this.counts.count(q, cap);
  }

  /**
   * Deletes one notification the caller may see (owner or editor of its ruleset), or, when `id`
   * is a file's hash (OpenCTI's Livehunt connector deletes by sha256), the caller's own
   * notifications of that file: never an editor's view of another owner's. NotFoundError when
   * nothing is deleted.
   */
  async delete(user: UserRecord, id: string): Promise<void> {
    if (FILE_HASH.test(id)) {
      const file = await this.store.getFile(id);
      const sha256 = file?.sha256 ?? (id.length === 64 ? id.toLowerCase() : undefined);
      const q: NotificationQuery = { scope: { ownerIds: [user.id], rulesetIds: [] }, order: 'asc', limit: 0 };
      const deleted = sha256 ? await deleteAllOf(this.store, { ...q, entityId: sha256 }, 1000) : 0;
      if (deleted === 0) throw objectNotFound('HuntingNotification', id);
      return;
    }
    const n = await this.visible(user, id);
    await this.store.deleteNotifications([n.id]);
  }

  /** Deletes the caller's own notifications, or those with `tag`; returns how many. */
  async deleteAll(user: UserRecord, tag?: string): Promise<number> {
    const tags = tag ? await resolveHashTags(this.store, [tag.toLowerCase()]) : [];
    const q: NotificationQuery = { scope: { ownerIds: [user.id], rulesetIds: [] }, order: 'asc', limit: 0, ...(tags.length ? { tags } : {}) };
    return deleteAllOf(this.store, q, 1000);
  }
}
