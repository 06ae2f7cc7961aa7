// Retrohunt jobs as users manage them (spec 5): creating one (rules compiled at the door, the
// spec's limits), reading, listing, aborting and deleting one's own. Members of a group see each
// other's jobs (read and list; aborting and deleting stay the owner's); anyone else's job is
// "not found", like a missing one. Running them is jobs/retrohunt-job.ts's.
import { badRequest, forbidden, objectNotFound } from '../../model/errors.js';
import { groupMatesOf, shareAGroup } from '../../users/groups.js';
import { MAX_RETROHUNT_RULES, RETROHUNT_STATUSES, abortReasons, type RetrohuntStatus } from '../../model/retrohunt.js';
import type { FileRecord, RetrohuntJobRecord, RetrohuntMatch, Store, UserRecord } from '../../store/store.js';
import { oneOf, parseFilter as parseFilterTerms, type FilterDialect } from '../../model/filter-grammar.js';
import type { RuleCompiler } from '../engine/rule-compiler.js';

const now = () => Math.floor(Date.now() / 1000);
const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const isTimestamp = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export interface RetrohuntListQuery {
  filter?: string;
  limit: number;
  after?: { date: number; id: string };
}

/** The retrohunt list's dialect (spec 5.2): `status:<s>` only. */
export const RETROHUNT_FILTER: FilterDialect = { keys: ['status'] };

/**
 * `filter`: `status:<s>` terms (any case, quoted or not); anything else is refused. Terms are
 * AND-combined like every filter's, so two different statuses select nothing (`null`).
 */
function parseFilter(filter: string | undefined): RetrohuntStatus | null | undefined {
  let status: RetrohuntStatus | null | undefined;
  for (const t of parseFilterTerms(filter, RETROHUNT_FILTER)) {
    const s = oneOf('status', t.value, RETROHUNT_STATUSES);
    status = status === undefined || status === s ? s : null;
  }
  return status;
}

export class RetrohuntJobs {
  constructor(
    private readonly store: Store,
    private readonly compiler: RuleCompiler,
    /** `onCreated`: a job was queued (this process's runner, if any, claims it at once rather than at its next poll). */
    private readonly opts: { maxRulesBytes: number; onCreated?: () => void },
  ) {}

  /**
   * Creates a job from `{rules, notification_email?, corpus?, time_range?}`. The rules are
   * validated as a ruleset's are (the engine's errors, InvalidArgumentError); at most
   * MAX_RETROHUNT_RULES rules; corpus `main` (the default: what users submitted) or `goodware`
   * (what administrators added to it, records.ts Corpus); `time_range` defaults to every file of
   * the corpus first stored up to now.
   */
  async create(user: UserRecord, attributes: unknown): Promise<RetrohuntJobRecord> {
    if (!isObject(attributes)) throw badRequest('expected a body {"data": {"type": "retrohunt_job", "attributes": {"rules": ...}}}');
    const a = attributes;
    if (typeof a.rules !== 'string' || a.rules.trim() === '') throw badRequest('"rules" is required: a string of YARA rules');
    const corpus = a.corpus ?? 'main';
    if (corpus !== 'main' && corpus !== 'goodware') throw badRequest(`invalid corpus ${JSON.stringify(corpus)}: expected "main" or "goodware"`);
    if (a.notification_email !== undefined && a.notification_email !== null && typeof a.notification_email !== 'string') {
      throw badRequest('"notification_email" must be a string');
    }
    const created = now();
    const range = { start: 0, end: created };
    if (a.time_range !== undefined && a.time_range !== null) {
      if (!isObject(a.time_range)) throw badRequest('"time_range" must be an object {"start": <unix ts>, "end": <unix ts>}');
      const { start, end } = a.time_range;
      if (start !== undefined && start !== null) {
        if (!isTimestamp(start)) throw badRequest('"time_range.start" must be a UNIX timestamp');
        range.start = start;
      }
      if (end !== undefined && end !== null) {
        if (!isTimestamp(end)) throw badRequest('"time_range.end" must be a UNIX timestamp');
        range.end = end;
      }
      if (range.start > range.end) throw badRequest('"time_range.start" is after "time_range.end"');
    }
    const { ruleNames } = await this.compiler.validate(a.rules, this.opts.maxRulesBytes);
    if (ruleNames.length > MAX_RETROHUNT_RULES) {
      throw badRequest(`a retrohunt job holds at most ${MAX_RETROHUNT_RULES} rules; this one has ${ruleNames.length}`);
    }
    const job = await this.store.createRetrohuntJob({
      ownerId: user.id, username: user.username, rules: a.rules, notificationEmail: (a.notification_email as string | undefined) || null,
      corpus, timeRange: range, creationDate: created,
    });
    this.opts.onCreated?.();
    return job;
  }

  /** Job `id` of `user` or of a group-mate; NotFoundError when there is none or it is anyone else's. */
  async visible(user: UserRecord, id: string): Promise<RetrohuntJobRecord> {
    const j = await this.store.getRetrohuntJob(id);
    if (!j || !(await shareAGroup(this.store, j.ownerId, user.id))) throw objectNotFound('retrohunt_job', id);
    return j;
  }

  /** `user`'s own job `id`: a group-mate's is ForbiddenError. */
  private async own(user: UserRecord, id: string): Promise<RetrohuntJobRecord> {
    const j = await this.visible(user, id);
    if (j.ownerId !== user.id) throw forbidden('only the owner of a retrohunt job can abort or delete it');
    return j;
  }

  /** A page of the jobs of `user` and their group-mates, newest first, and the position of the next one. */
  async list(user: UserRecord, q: RetrohuntListQuery): Promise<{ items: RetrohuntJobRecord[]; next?: { date: number; id: string }; count: number }> {
    const status = parseFilter(q.filter);
    if (status === null) return { items: [], count: 0 };
    const owners = await groupMatesOf(this.store, user.id);
    const items = await this.store.listRetrohuntJobs(owners, { ...(status ? { status } : {}), ...(q.after ? { after: q.after } : {}), limit: q.limit + 1 });
    const more = items.length > q.limit;
    const page = items.slice(0, q.limit);
    const last = page[page.length - 1];
    const count = await this.store.countRetrohuntJobs(owners, status);
    return { items: page, ...(more && last ? { next: { date: last.creationDate, id: last.id } } : {}), count };
  }

  async abort(user: UserRecord, id: string): Promise<RetrohuntJobRecord> {
    await this.own(user, id);
    const j = await this.store.abortRetrohuntJob(id, now(), abortReasons.user);
    if (!j) throw objectNotFound('retrohunt_job', id);
    return j;
  }

  async delete(user: UserRecord, id: string): Promise<void> {
    await this.own(user, id);
    await this.store.deleteRetrohuntJob(id);
  }

  /** A page of the job's matches with their files (a file gone from the store is left out). */
  async matches(user: UserRecord, id: string, after: { sha256: string; rule: string } | undefined, limit: number): Promise<{ items: { match: RetrohuntMatch; file: FileRecord }[]; next?: { sha256: string; rule: string } }> {
    await this.visible(user, id);
    const list = await this.store.listRetrohuntMatches(id, after, limit + 1);
    const page = list.slice(0, limit);
    const files = new Map((await this.store.getFiles(page.map((m) => m.sha256))).map((f) => [f.sha256, f]));
    const items = page.flatMap((m) => (files.has(m.sha256) ? [{ match: m, file: files.get(m.sha256)! }] : []));
    const last = page[page.length - 1];
    return { items, ...(list.length > limit && last ? { next: { sha256: last.sha256, rule: last.rule } } : {}) };
  }
}
