// API requests counted and limited per user and per quota group (api_requests_minutely,
// api_requests_daily), without a database round trip per request. Each API process counts in
// memory and, every `syncMs`, adds its counts to the store (atomic increments) and reads back
// everyone's totals for the users it serves and their group-mates. A request is admitted when
// (totals at the last sync + what this process admitted since) stays under the limit, so:
// - within one process the limits are exact;
// - across N processes a user may exceed a limit by what the other processes admitted during
//   one sync interval (at most N-1 intervals' worth of their requests) before all refuse.
// Windows are fixed UTC minutes and UTC days (VirusTotal's daily quotas reset at 00:00 UTC).
import { TrawlError } from '../model/errors.js';
import { dayOf, minuteOf } from '../model/quotas.js';
import type { Store } from '../store/store.js';
import { limitsRequests, loadQuotaPlan, type QuotaPlan } from './quota-plans.js';

/** Requests of one user within the current day and minute. */
interface Count {
  day: number;
  dayN: number;
  minute: number;
  minuteN: number;
}

interface Kept {
  plan: QuotaPlan;
  until: number;
}

export interface QuotaMeterOptions {
  /** How often counts go to the store and totals come back. */
  syncMs: number;
  /** How long a user's quotas are kept before being read again (changes by other processes or the CLI). */
  planTtlMs: number;
  /** The clock (tests move it to cross a window). */
  now?: () => number;
}

function bump(map: Map<number, Count>, userId: number, day: number, minute: number): void {
  const c = map.get(userId);
  if (!c) return void map.set(userId, { day, dayN: 1, minute, minuteN: 1 });
  if (c.day !== day) { c.day = day; c.dayN = 0; }
  if (c.minute !== minute) { c.minute = minute; c.minuteN = 0; }
  c.dayN++;
  c.minuteN++;
}

/** Adds counts that could not be sent back to those not sent yet. */
function merge(into: Map<number, Count>, from: Map<number, Count>): void {
  for (const [k, c] of from) {
    const p = into.get(k);
    if (!p) into.set(k, c);
    else {
      if (p.day === c.day) p.dayN += c.dayN;
      if (p.minute === c.minute) p.minuteN += c.minuteN;
    }
  }
}

function over(what: string, used: number, allowed: number): void {
  if (used >= allowed) throw new TrawlError('QuotaExceededError', `${what} quota exceeded: ${used} of ${allowed} requests used`);
}

const dayPart = (c: Count | undefined, day: number) => (c && c.day === day ? c.dayN : 0);
const minutePart = (c: Count | undefined, minute: number) => (c && c.minute === minute ? c.minuteN : 0);

export class QuotaMeter {
  private readonly now: () => number;
  private readonly plans = new Map<number, Kept>();
  private readonly loading = new Map<number, Promise<QuotaPlan>>();
  /** Counted here and not yet sent; `sending` is on its way; `synced` is everyone's as last read. */
  private pending = new Map<number, Count>();
  private sending = new Map<number, Count>();
  private synced = new Map<number, Count>();
  /** The same per quota group (its members' requests summed), so a check is O(1) however large the group. */
  private pendingGroups = new Map<number, Count>();
  private sendingGroups = new Map<number, Count>();
  private syncedGroups = new Map<number, Count>();
  /** Daily rows to add: day -> user -> bucket -> count (per-minute rows come from `pending`). */
  private buckets = new Map<number, Map<number, Map<string, number>>>();
  /** Users (and quota groups, with their members) whose totals the next sync reads: those served lately, by minute. */
  private watched = new Map<number, number>();
  private watchedGroups = new Map<number, { memberIds: readonly number[]; minute: number }>();
  private timer: NodeJS.Timeout | null = null;
  /** The current minute since the epoch and its UTC day (tick()). */
  private minute = -1;
  private day = 0;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly opts: QuotaMeterOptions,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    this.now = opts.now ?? (() => Date.now()); // read at each call (a mocked clock replaces Date)
  }

  start(): void {
    // A sync still running when the next is due is not queued behind: the next tick does it.
    this.timer ??= setInterval(() => { if (!this.syncing) void this.sync(); }, this.opts.syncMs);
    this.timer.unref();
  }

  /** Stops the timer and sends what is left. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sync();
  }

  /** Drops kept quotas (after a change made through this process). */
  forget(): void {
    this.plans.clear();
  }

  /** The user's plan, from memory when kept; read from the store once per `planTtlMs`. */
  async plan(userId: number): Promise<QuotaPlan> {
    const kept = this.plans.get(userId);
    if (kept && kept.until > this.now()) return kept.plan;
    let p = this.loading.get(userId);
    if (!p) {
      p = loadQuotaPlan(this.store, userId).finally(() => this.loading.delete(userId));
      this.loading.set(userId, p);
      const plan = await p;
      if (this.plans.size >= 10_000) this.plans.clear();
      this.plans.set(userId, { plan, until: this.now() + this.opts.planTtlMs });
      return plan;
    }
    return p;
  }

  /** Moves the current minute and day on (a Date is built once a minute, not per request). */
  private tick(): void {
    const t = this.now();
    const minute = minuteOf(t);
    if (minute !== this.minute) {
      this.minute = minute;
      this.day = dayOf(t);
    }
  }

  /** Requests `userId` made today and this minute, in every process as far as this one knows. */
  used(userId: number): { day: number; minute: number } {
    this.tick();
    return { day: this.usedToday(userId), minute: this.usedThisMinute(userId) };
  }

  private usedToday(userId: number): number {
    const d = this.day;
    return dayPart(this.pending.get(userId), d) + dayPart(this.sending.get(userId), d) + dayPart(this.synced.get(userId), d);
  }

  private usedThisMinute(userId: number): number {
    const m = this.minute;
    return minutePart(this.pending.get(userId), m) + minutePart(this.sending.get(userId), m) + minutePart(this.synced.get(userId), m);
  }

  private groupToday(groupId: number): number {
    const d = this.day;
    return dayPart(this.pendingGroups.get(groupId), d) + dayPart(this.sendingGroups.get(groupId), d) + dayPart(this.syncedGroups.get(groupId), d);
  }

  private groupThisMinute(groupId: number): number {
    const m = this.minute;
    return minutePart(this.pendingGroups.get(groupId), m) + minutePart(this.sendingGroups.get(groupId), m) + minutePart(this.syncedGroups.get(groupId), m);
  }

  /**
   * Admits one request of `userId` counted under `bucket` (api_usage's endpoint bucket), or
   * throws QuotaExceededError. A refused request is not counted.
   */
  async admit(userId: number, bucket: string): Promise<void> {
    const kept = this.plans.get(userId);
    const plan = kept && kept.until > this.now() ? kept.plan : await this.plan(userId);
    this.tick();
    if (limitsRequests(plan)) this.check(plan);
    const { day, minute } = this;
    bump(this.pending, userId, day, minute);
    this.add(day, userId, bucket, 1);
    // Watched by the minute: enough to drop users idle for two (syncOnce).
    this.watched.set(userId, minute);
    const g = plan.group;
    if (g) {
      bump(this.pendingGroups, g.record.id, day, minute);
      this.watchedGroups.set(g.record.id, { memberIds: g.memberIds, minute });
    }
  }

  private check(plan: QuotaPlan): void {
    const l = plan.limits;
    if (l.api_requests_minutely !== undefined) over('api_requests_minutely', this.usedThisMinute(plan.userId), l.api_requests_minutely);
    if (l.api_requests_daily !== undefined) over('api_requests_daily', this.usedToday(plan.userId), l.api_requests_daily);
    const g = plan.group;
    if (!g) return;
    if (g.limits.api_requests_minutely !== undefined) over(`group "${g.record.name}" api_requests_minutely`, this.groupThisMinute(g.record.id), g.limits.api_requests_minutely);
    if (g.limits.api_requests_daily !== undefined) over(`group "${g.record.name}" api_requests_daily`, this.groupToday(g.record.id), g.limits.api_requests_daily);
  }

  /**
   * Counts `n` under `bucket` for `userId` without checking any limit (the exact counters of
   * users/quotas.ts when no limit binds them: sent with the next sync, not written at once).
   */
  count(userId: number, bucket: string, n = 1): void {
    this.tick();
    this.add(this.day, userId, bucket, n);
  }

  private add(day: number, userId: number, bucket: string, n: number): void {
    let users = this.buckets.get(day);
    if (!users) this.buckets.set(day, (users = new Map()));
    let counts = users.get(userId);
    if (!counts) users.set(userId, (counts = new Map()));
    counts.set(bucket, (counts.get(bucket) ?? 0) + n);
  }

  /**
   * Sends this process's counts and reads everyone's totals. Resolves once a sync that began
   * after the call is done (so what was counted before it is in the store); syncs run one at a time.
   */
  sync(): Promise<void> {
    const run: Promise<void> = (this.syncing ?? Promise.resolve())
      .then(() => this.syncOnce().catch(this.onError))
      .finally(() => { if (this.syncing === run) this.syncing = null; });
    this.syncing = run;
    return run;
  }

  private async syncOnce(): Promise<void> {
    const t = this.now();
    const day = dayOf(t);
    const minute = minuteOf(t);
    // Users not served for two minutes are no longer read back.
    for (const [u, at] of this.watched) if (at < minute - 2) this.watched.delete(u);
    for (const [g, w] of this.watchedGroups) if (w.minute < minute - 2) this.watchedGroups.delete(g);
    const buckets = this.buckets;
    this.sending = this.pending;
    this.pending = new Map();
    this.sendingGroups = this.pendingGroups;
    this.pendingGroups = new Map();
    this.buckets = new Map();
    const daily: { userId: number; day: number; bucket: string; count: number }[] = [];
    for (const [d, users] of buckets) for (const [userId, counts] of users) for (const [bucket, count] of counts) daily.push({ userId, day: d, bucket, count });
    // A user's requests of the minute their count holds: those of a minute already over matter to no quota.
    const minutes = [...this.sending].filter(([, c]) => c.minuteN > 0).map(([userId, c]) => ({ userId, minute: c.minute, count: c.minuteN }));
    try {
      // Minutes first: if the days then fail, only the current minute may count twice (safe side).
      if (minutes.length > 0) await this.store.addMinuteUsage(minutes, minute - 2);
      await this.store.addDailyUsage(daily);
    } catch (e) {
      // Kept for the next sync: nothing counted is lost while the database is away.
      for (const r of daily) this.add(r.day, r.userId, r.bucket, r.count);
      merge(this.pending, this.sending);
      merge(this.pendingGroups, this.sendingGroups);
      this.sending = new Map();
      this.sendingGroups = new Map();
      throw e;
    }
    const ids = new Set(this.watched.keys());
    for (const w of this.watchedGroups.values()) for (const m of w.memberIds) ids.add(m);
    const [days, mins] = await Promise.all([this.store.usageTotals([...ids], day, day), this.store.minuteUsage([...ids], minute)]);
    const synced = new Map<number, Count>();
    for (const u of ids) synced.set(u, { day, dayN: days.get(u) ?? 0, minute, minuteN: mins.get(u) ?? 0 });
    const syncedGroups = new Map<number, Count>();
    for (const [g, w] of this.watchedGroups) {
      let dayN = 0;
      let minuteN = 0;
      for (const m of w.memberIds) {
        dayN += days.get(m) ?? 0;
        minuteN += mins.get(m) ?? 0;
      }
      syncedGroups.set(g, { day, dayN, minute, minuteN });
    }
    this.synced = synced;
    this.syncedGroups = syncedGroups;
    this.sending = new Map();
    this.sendingGroups = new Map();
  }
}
