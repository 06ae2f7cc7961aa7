// Hunting ruleset objects (spec 2.1) with their computed attributes.
import { isRateLimited, rateLimitedRatio } from '../../model/rate-limit.js';
import type { RulesetRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';

export function rulesetAttributes(r: RulesetRecord, now = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const a: Record<string, unknown> = {
    name: r.name,
    rules: r.rules,
    enabled: r.enabled,
    limit: r.limit,
    notification_emails: r.notificationEmails,
    match_object_type: r.matchObjectType,
    tags: r.tags,
    creation_date: r.creationDate,
    modification_date: r.modificationDate,
    number_of_rules: r.ruleNames.length,
    rule_names: r.ruleNames,
    rate_limited: isRateLimited(r.rateLimit, now),
    rate_limited_ratio: Math.round(rateLimitedRatio(r.rateLimit, now) * 1e4) / 1e4,
    // Trawl's own: scans this ruleset made slow or time out (it is then scanned alone).
    slow_scans: r.slowScans,
  };
  if (r.lastSlowScan) {
    const s = r.lastSlowScan;
    a.last_slow_scan = { date: s.date, sha256: s.sha256, milliseconds: s.milliseconds, timed_out: s.timedOut };
  }
  return a;
}

export function rulesetObject(origin: string, r: RulesetRecord): VtObject {
  return {
    type: 'hunting_ruleset',
    id: String(r.id),
    links: { self: absoluteUrl(origin, `/api/v3/intelligence/hunting_rulesets/${r.id}`) },
    attributes: rulesetAttributes(r),
  };
}
