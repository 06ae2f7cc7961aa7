// The IoC Stream (spec 4): the same notification records as the hunting notification endpoints,
// read as a filterable, resumable stream of matched objects, and deleted by filter in the
// background. API routes, the CLI and the `ioc-delete` job call these.
import type { Logger } from 'pino';
import type { JobHandler } from '../jobs/job-runner.js';
import { TrawlError } from '../model/errors.js';
import type { Job, NotificationPosition, NotificationQuery, Store, StreamEntry, UserRecord } from '../store/store.js';
import type { HuntingNotifications } from './hunting-notifications.js';
import { resolveEntityIds, resolveHashTags } from './file-hash-terms.js';
import { parseStreamFilter } from './ioc-stream-filter.js';
import { deleteAllOf, pageOf } from './pages.js';

export interface StreamRequest {
  filter?: string;
  order?: 'asc' | 'desc';
  limit: number;
  after?: NotificationPosition;
}

export interface StreamPage {
  /** Each notification's position, file and stored context. */
  items: StreamEntry[];
  next?: NotificationPosition;
  query: NotificationQuery;
}

/** Notifications deleted per transaction by a filtered delete: small enough that reads never wait long. */
const DELETE_BATCH = 500;

export class IocStream {
  constructor(
    private readonly store: Store,
    private readonly notifications: HuntingNotifications,
  ) {}

  /** The query of `filter` within what `user` may see; its scope is empty when nothing can match. */
  async query(user: UserRecord, filter: string | undefined): Promise<NotificationQuery> {
    const { none, entityIds, tags, ...narrow } = parseStreamFilter(filter);
    const entityId = entityIds && !none ? await resolveEntityIds(this.store, entityIds) : undefined;
    const scope = none || entityId === null ? { ownerIds: [], rulesetIds: [] } : await this.notifications.scope(user);
    return {
      scope, ...narrow, order: 'desc', limit: 0,
      ...(tags && !none ? { tags: await resolveHashTags(this.store, tags) } : {}),
      ...(entityId ? { entityId } : {}),
    };
  }

  async list(user: UserRecord, req: StreamRequest): Promise<StreamPage> {
    return this.page(await this.pageQuery(user, req), req.limit);
  }

  /** The query of one page of `req`: one row more than asked for, to know whether another follows. */
  async pageQuery(user: UserRecord, req: StreamRequest): Promise<NotificationQuery> {
    return { ...(await this.query(user, req.filter)), order: req.order ?? 'desc', limit: req.limit + 1, ...(req.after ? { after: req.after } : {}) };
  }

  /** The page `q` (from pageQuery) selects, `limit` items at most. */
  async page(q: NotificationQuery, limit: number): Promise<StreamPage> {
    return { ...pageOf(await this.store.listStreamEntries(q), limit, (e) => e), query: q };
  }

  count(q: NotificationQuery, cap: number): Promise<number> {
    return this.notifications.count(q, cap);
  }

  /**
   * Starts deleting what `filter` selects, in the background. One deletion per user at a time: a
   * second request while one runs is refused with 429 `TooManyRequests` (VirusTotal's spelling).
   */
  async requestDelete(user: UserRecord, filter: string | undefined): Promise<void> {
    await this.query(user, filter); // a bad filter is refused now, not in the background
    if (!(await this.store.enqueueJob('ioc-delete', { userId: user.id, filter: filter ?? '' }, `ioc-delete:${user.id}`))) {
      throw new TrawlError('TooManyRequests', 'Notifications already being deleted. Depending on volume this may take a while.');
    }
  }

  /**
   * Deletes, batch by batch, what `filter` selects among `user`'s own notifications (an editor's
   * bulk delete leaves the notifications of rulesets shared with them alone); returns how many.
   */
  async deleteMatching(user: UserRecord, filter: string): Promise<number> {
    const selected = await this.query(user, filter);
    const own = { ownerIds: selected.scope.ownerIds.filter((id) => id === user.id), rulesetIds: [] };
    return deleteAllOf(this.store, { ...selected, scope: own }, DELETE_BATCH);
  }
}

/** The `ioc-delete` job: a filtered DELETE /ioc_stream, run by a worker. */
export class IocDeleteJob implements JobHandler {
  constructor(
    private readonly store: Store,
    private readonly stream: IocStream,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const user = await this.store.getUserById(Number(job.payload.userId));
    const deleted = user ? await this.stream.deleteMatching(user, String(job.payload.filter ?? '')) : 0;
    log.info({ user: job.payload.userId, filter: job.payload.filter, deleted }, 'IoC Stream notifications deleted');
    await this.store.deleteJob(job.id);
  }

  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    log.error({ err, user: job.payload.userId }, 'IoC Stream deletion failed; what was deleted stays deleted');
    await this.store.deleteJob(job.id);
  }
}
