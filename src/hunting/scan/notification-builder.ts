// From accepted matches to the notifications to store (spec 3.1, 3.6, 4.4): one per matching rule
// per submission, with the tags `tag:` filters search (lower-cased ruleset name, rule name, rule
// tags and the file's sha256).
import type { NewNotification, RulesetRecord, Store, SubmissionRecord } from '../../store/store.js';
import type { RawMatch } from '../engine/rules-artifact.js';

/** The tags of a notification, lower-cased and without repeats. */
export function notificationTags(rulesetName: string, rule: string, ruleTags: readonly string[], sha256: string): string[] {
  return [...new Set([rulesetName, rule, ...ruleTags, sha256].map((t) => t.toLowerCase()))];
}

/**
 * Notifications for `matches` on `submission`. A rule matching more than once (later: in several
 * subfiles) notifies once, with the first snippet found. Matches of rulesets missing from
 * `rulesets` (deleted meanwhile) are dropped.
 */
export function buildNotifications(
  submission: SubmissionRecord,
  matches: readonly RawMatch[],
  rulesets: ReadonlyMap<number, RulesetRecord>,
  date: number,
  opts: { matchInSubfile?: (m: RawMatch) => boolean } = {},
): NewNotification[] {
  const byRule = new Map<string, RawMatch>();
  for (const m of matches) {
    const key = `${m.rulesetId}\u0000${m.rule}`;
    const seen = byRule.get(key);
    if (!seen || (seen.snippet === null && m.snippet !== null)) byRule.set(key, m);
  }
  const out: NewNotification[] = [];
  for (const m of byRule.values()) {
    const r = rulesets.get(m.rulesetId);
    if (!r) continue;
    out.push({
      ownerId: r.ownerId,
      rulesetId: r.id,
      rulesetName: r.name,
      date,
      sha256: submission.sha256,
      submissionId: submission.id,
      ruleName: m.rule,
      ruleTags: m.tags,
      snippet: m.snippet,
      matchInSubfile: opts.matchInSubfile?.(m) ?? false,
      sourceKey: submission.sourceKey,
      sourceCountry: submission.sourceCountry,
      tags: notificationTags(r.name, m.rule, m.tags, submission.sha256),
    });
  }
  return out;
}

/** The rulesets of `matches`, as stored now (a deleted one is missing: its matches are dropped). */
export async function matchedRulesets(store: Pick<Store, 'getRuleset'>, matches: readonly { rulesetId: number }[]): Promise<Map<number, RulesetRecord>> {
  const ids = [...new Set(matches.map((m) => m.rulesetId))];
  const found = await Promise.all(ids.map((id) => store.getRuleset(id)));
  return new Map(found.filter((r): r is RulesetRecord => !!r).map((r) => [r.id, r]));
}
