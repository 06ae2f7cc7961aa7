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
  /** Rows to add: `${userId} ${day} ${bucket}` and `${userId} ${minute}`. */
  private buckets = new Map<string, number>();
  private minutes = new Map<string, number>();
  /** Users whose totals the next sync reads: those served lately and their group-mates. */
  private watched = new Map<number, number>();
  private timer: NodeJS.Timeout | null = null;
  private syncing: Promise<void> | null = null;

  constructor(
    private readonly store: Store,
    private readonly opts: QuotaMeterOptions,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    this.now = opts.now ?? (() => Date.now()); // read at each call (a mocked clock replaces Date)
  }

  start(): void {
    this.timer ??= setInterval(() => void this.sync(), this.opts.syncMs);
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

  /** Requests `userId` made today and this minute, in every process as far as this one knows. */
  used(userId: number): { day: number; minute: number } {
    const t = this.now();
    const day = dayOf(t);
    const minute = minuteOf(t);
    const parts = [this.pending, this.sending, this.synced].map((m) => m.get(userId));
    return {
      day: parts.reduce((n, c) => n + dayPart(c, day), 0),
      minute: parts.reduce((n, c) => n + minutePart(c, minute), 0),
    };
  }

  /**
   * Admits one request of `userId` counted under `bucket` (api_usage's endpoint bucket), or
   * throws QuotaExceededError. A refused request is not counted.
   */
  async admit(userId: number, bucket: string): Promise<void> {
    const kept = this.plans.get(userId);
    const plan = kept && kept.until > this.now() ? kept.plan : await this.plan(userId);
    if (limitsRequests(plan)) this.check(plan);
    const t = this.now();
    const day = dayOf(t);
    const minute = minuteOf(t);
    bump(this.pending, userId, day, minute);
    const bk = `${userId} ${day} ${bucket}`;
    this.buckets.set(bk, (this.buckets.get(bk) ?? 0) + 1);
    const mk = `${userId} ${minute}`;
    this.minutes.set(mk, (this.minutes.get(mk) ?? 0) + 1);
    this.watched.set(userId, t);
    if (plan.group) for (const m of plan.group.memberIds) this.watched.set(m, t);
  }

  private check(plan: QuotaPlan): void {
    const own = this.used(plan.userId);
    const over = (what: string, used: number, allowed: number | undefined) => {
      if (allowed !== undefined && used >= allowed) {
        throw new TrawlError('QuotaExceededError', `${what} quota exceeded: ${used} of ${allowed} requests used`);
      }
    };
    over('api_requests_minutely', own.minute, plan.limits.api_requests_minutely);
    over('api_requests_daily', own.day, plan.limits.api_requests_daily);
    const g = plan.group;
    if (g && (g.limits.api_requests_minutely !== undefined || g.limits.api_requests_daily !== undefined)) {
      let day = 0;
      let minute = 0;
      for (const m of g.memberIds) {
        const u = this.used(m);
        day += u.day;
        minute += u.minute;
      }
      over(`group "${g.record.name}" api_requests_minutely`, minute, g.limits.api_requests_minutely);
      over(`group "${g.record.name}" api_requests_daily`, day, g.limits.api_requests_daily);
    }
  }

  /** Sends this process's counts and reads everyone's totals (one at a time). */
  sync(): Promise<void> {
    this.syncing ??= this.syncOnce().catch(this.onError).finally(() => { this.syncing = null; });
    return this.syncing;
  }

  private async syncOnce(): Promise<void> {
    const t = this.now();
    const day = dayOf(t);
    const minute = minuteOf(t);
    // Users not served for two minutes are no longer read back.
    for (const [u, at] of this.watched) if (at < t - 120_000) this.watched.delete(u);
    const buckets = this.buckets;
    const minutes = this.minutes;
    this.sending = this.pending;
    this.pending = new Map();
    this.buckets = new Map();
    this.minutes = new Map();
    try {
      await this.store.addDailyUsage([...buckets].map(([k, count]) => {
        const [userId, d, bucket] = k.split(' ');
        return { userId: Number(userId), day: Number(d), bucket: bucket!, count };
      }));
      if (minutes.size > 0) {
        await this.store.addMinuteUsage([...minutes].map(([k, count]) => {
          const [userId, m] = k.split(' ');
          return { userId: Number(userId), minute: Number(m), count };
        }), minute - 2);
      }
    } catch (e) {
      // Kept for the next sync: nothing counted is lost while the database is away.
      for (const [k, n] of buckets) this.buckets.set(k, (this.buckets.get(k) ?? 0) + n);
      for (const [k, n] of minutes) this.minutes.set(k, (this.minutes.get(k) ?? 0) + n);
      for (const [u, c] of this.sending) {
        const p = this.pending.get(u);
        if (!p) this.pending.set(u, c);
        else {
          if (p.day === c.day) p.dayN += c.dayN;
          if (p.minute === c.minute) p.minuteN += c.minuteN;
        }
      }
      this.sending = new Map();
      throw e;
    }
    const ids = [...this.watched.keys()];
    const [days, mins] = await Promise.all([this.store.usageTotals(ids, day, day), this.store.minuteUsage(ids, minute)]);
    const synced = new Map<number, Count>();
    for (const u of ids) synced.set(u, { day, dayN: days.get(u) ?? 0, minute, minuteN: mins.get(u) ?? 0 });
    this.synced = synced;
    this.sending = new Map();
  }
}
