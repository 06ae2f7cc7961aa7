// Quotas on what users make and take (Retrohunt jobs and downloads per natural month, hunting
// rulesets held) and the reports of every quota: `overall_quotas` and `api_usage` (spec 7.3).
// Monthly counts under a limit are exact: each one is an atomic increment in the store, taken
// back when it went over (so two requests racing for the last unit may both be refused, never
// both admitted). Without a limit they are counted as API requests are (quota-meter.ts).
import { TrawlError, badRequest } from '../model/errors.js';
import {
  DOWNLOAD_BUCKET, QUOTA_NAMES, RETROHUNT_BUCKET, dayKey, dayOf, isQuotaBucket, monthEndOf, monthStartOf, parseDay,
  type QuotaName,
} from '../model/quotas.js';
import type { Store, UserRecord } from '../store/store.js';
import type { QuotaMeter } from './quota-meter.js';
import { loadQuotaPlan, type QuotaPlan } from './quota-plans.js';

/** What an unlimited quota reports as `allowed`: an integer every client can compare with. */
export const UNLIMITED = 2_147_483_647;
const DAY_MS = 86_400_000;

type Monthly = 'intelligence_retrohunt_jobs_monthly' | 'intelligence_downloads_monthly';
const BUCKET_OF: Record<Monthly, string> = {
  intelligence_retrohunt_jobs_monthly: RETROHUNT_BUCKET,
  intelligence_downloads_monthly: DOWNLOAD_BUCKET,
};

const sum = (m: Map<number, number>) => [...m.values()].reduce((a, b) => a + b, 0);

export class Quotas {
  constructor(
    private readonly store: Store,
    private readonly meter: QuotaMeter,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Counts one unit of a monthly quota for `user`, or throws QuotaExceededError. Returns what gives it back. */
  async take(user: UserRecord, name: Monthly): Promise<() => Promise<void>> {
    const plan = await this.meter.plan(user.id);
    const bucket = BUCKET_OF[name];
    if (plan.limits[name] === undefined && plan.group?.limits[name] === undefined) {
      // Unlimited: counted as requests are (sent with the next sync), no database write here.
      this.meter.count(user.id, bucket);
      return async () => this.meter.count(user.id, bucket, -1);
    }
    const t = this.now();
    const row = { userId: user.id, day: dayOf(t), bucket };
    const giveBack = () => this.store.addDailyUsage([{ ...row, count: -1 }]);
    await this.meter.sync(); // counts this process made while it was unlimited first: the month's total is whole
    await this.store.addDailyUsage([{ ...row, count: 1 }]);
    const over = await this.overMonthly(plan, name, t);
    if (over) {
      await giveBack();
      throw new TrawlError('QuotaExceededError', over);
    }
    return giveBack;
  }

  private async overMonthly(plan: QuotaPlan, name: Monthly, t: number): Promise<string | null> {
    const from = monthStartOf(t);
    const to = monthEndOf(t);
    const own = plan.limits[name];
    if (own !== undefined) {
      const used = sum(await this.store.usageTotals([plan.userId], from, to, BUCKET_OF[name]));
      if (used > own) return `${name} quota exceeded: ${own} allowed this month`;
    }
    const g = plan.group;
    const allowed = g?.limits[name];
    if (g && allowed !== undefined) {
      const used = sum(await this.store.usageTotals(g.memberIds, from, to, BUCKET_OF[name]));
      if (used > allowed) return `group "${g.record.name}" ${name} quota exceeded: ${allowed} allowed this month`;
    }
    return null;
  }

  /** Refuses a new ruleset when `user` (or their quota group) holds as many as allowed. */
  async checkRulesets(user: UserRecord): Promise<void> {
    const plan = await this.meter.plan(user.id);
    const own = plan.limits.intelligence_hunting_rulesets;
    const groupAllowed = plan.group?.limits.intelligence_hunting_rulesets;
    if (own === undefined && groupAllowed === undefined) return;
    if (own !== undefined && (await this.rulesetsOwned([user.id])) >= own) {
      throw new TrawlError('QuotaExceededError', `intelligence_hunting_rulesets quota exceeded: ${own} rulesets allowed`);
    }
    if (plan.group && groupAllowed !== undefined && (await this.rulesetsOwned(plan.group.memberIds)) >= groupAllowed) {
      throw new TrawlError('QuotaExceededError', `group "${plan.group.record.name}" intelligence_hunting_rulesets quota exceeded: ${groupAllowed} rulesets allowed`);
    }
  }

  private async rulesetsOwned(userIds: number[]): Promise<number> {
    let n = 0;
    for (const id of userIds) n += (await this.store.listRulesetsOf(id)).filter((r) => r.ownerId === id).length;
    return n;
  }

  /** How much of a quota the users `ids` used (everyone's counts, this process's sent first). */
  private async usedBy(ids: number[], name: QuotaName, t: number): Promise<number> {
    switch (name) {
      case 'api_requests_minutely':
        return sum(await this.store.minuteUsage(ids, Math.floor(t / 60_000)));
      case 'api_requests_daily':
        return sum(await this.store.usageTotals(ids, dayOf(t), dayOf(t)));
      case 'intelligence_hunting_rulesets':
        return this.rulesetsOwned(ids);
      default:
        return sum(await this.store.usageTotals(ids, monthStartOf(t), monthEndOf(t), BUCKET_OF[name]));
    }
  }

  /**
   * The User object's `quotas` attribute (spec 7.1): the user's own allowance and use of each
   * quota, as the store has them (requests of the last `quotaSyncMs` may be missing).
   */
  async ofUser(user: UserRecord): Promise<Record<string, { allowed: number; used: number }>> {
    const plan = await this.meter.plan(user.id);
    const t = this.now();
    const out: Record<string, { allowed: number; used: number }> = {};
    for (const name of QUOTA_NAMES) out[name] = { allowed: plan.limits[name] ?? UNLIMITED, used: await this.usedBy([user.id], name, t) };
    return out;
  }

  /** `GET /users/{id}/overall_quotas`: per quota, the user's allowance and use, and their group's. */
  async overall(user: UserRecord): Promise<Record<string, unknown>> {
    await this.meter.sync();
    const plan = await loadQuotaPlan(this.store, user.id);
    const t = this.now();
    const out: Record<string, unknown> = {};
    for (const name of QUOTA_NAMES) {
      const entry: Record<string, unknown> = {
        user: { allowed: plan.limits[name] ?? UNLIMITED, used: await this.usedBy([user.id], name, t) },
      };
      if (plan.group) {
        entry.group = {
          allowed: plan.group.limits[name] ?? UNLIMITED,
          used: await this.usedBy(plan.group.memberIds, name, t),
          inherited_from: plan.group.record.name,
        };
      }
      out[name] = entry;
    }
    return out;
  }

  /**
   * `GET /users/{id}/api_usage` and `GET /groups/{id}/api_usage`: requests per UTC day and
   * endpoint bucket between `start` and `end` (YYYYMMDD, inclusive; default the last 30 days; at
   * most 30 days) of these users together (one user, or a group's members), with their totals.
   */
  async apiUsage(userIds: readonly number[], start?: string, end?: string): Promise<{ daily: Record<string, Record<string, number>>; total: Record<string, number> }> {
    const parse = (v: string | undefined, name: string, fallback: number) => {
      if (v === undefined || v === '') return fallback;
      const ms = parseDay(v);
      if (ms === null) throw badRequest(`"${name}" must be a date YYYYMMDD, got "${v}"`);
      return ms;
    };
    const today = Date.UTC(new Date(this.now()).getUTCFullYear(), new Date(this.now()).getUTCMonth(), new Date(this.now()).getUTCDate());
    const endMs = parse(end, 'end_date', today);
    const startMs = parse(start, 'start_date', endMs - 29 * DAY_MS);
    if (startMs > endMs) throw badRequest('"start_date" is after "end_date"');
    if (endMs - startMs > 29 * DAY_MS) throw badRequest('the window of api_usage is at most 30 days');
    await this.meter.sync();
    const daily: Record<string, Record<string, number>> = {};
    for (let d = startMs; d <= endMs; d += DAY_MS) daily[dayKey(dayOf(d))] = {};
    const total: Record<string, number> = {};
    for (const id of userIds) {
      for (const r of await this.store.dailyUsage(id, dayOf(startMs), dayOf(endMs))) {
        if (isQuotaBucket(r.bucket) || r.count === 0) continue;
        const day = daily[dayKey(r.day)]!;
        day[r.bucket] = (day[r.bucket] ?? 0) + r.count;
        total[r.bucket] = (total[r.bucket] ?? 0) + r.count;
      }
    }
    return { daily, total };
  }
}
