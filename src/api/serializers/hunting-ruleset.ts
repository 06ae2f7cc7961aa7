// Hunting ruleset objects (spec 2.1) with their computed attributes.
import type { RulesetRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';

export function rulesetAttributes(r: RulesetRecord): Record<string, unknown> {
  return {
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
    // Notifications (and so their rate limit) arrive with Livehunt matching.
    rate_limited: false,
    rate_limited_ratio: 0,
  };
}

export function rulesetObject(origin: string, r: RulesetRecord): VtObject {
  return {
    type: 'hunting_ruleset',
    id: String(r.id),
    links: { self: absoluteUrl(origin, `/api/v3/intelligence/hunting_rulesets/${r.id}`) },
    attributes: rulesetAttributes(r),
  };
}
