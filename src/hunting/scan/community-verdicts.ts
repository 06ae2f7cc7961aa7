// From a scan's matches to a file's verdict from community rules (docs/api.md, "Verdicts"):
// matches of community rulesets (`trawl rules import`) become the file's crowdsourced YARA
// results, never notifications; every other match goes on to Livehunt's notifications.
import type { CommunityMatch, CommunityScan, RulesetRecord } from '../../store/store.js';
import type { RawMatch } from '../engine/rules-artifact.js';
import type { RulesSnapshot } from './rules-catalog.js';

/** `matches` split into community rulesets' and Livehunt's (by the snapshot: no database read). */
export function splitCommunity(matches: readonly RawMatch[], snap: Pick<RulesSnapshot, 'community'> | null): { community: RawMatch[]; livehunt: RawMatch[] } {
  if (!snap || snap.community.size === 0) return { community: [], livehunt: [...matches] };
  const community: RawMatch[] = [];
  const livehunt: RawMatch[] = [];
  for (const m of matches) (snap.community.has(m.rulesetId) ? community : livehunt).push(m);
  return { community, livehunt };
}

/**
 * One item per matching rule, in order of first match; `matchInSubfile` only when no match of
 * the rule was on the file itself. Matches of rulesets missing from `rulesets` (deleted
 * meanwhile) or no longer community ones are dropped.
 */
export function communityMatches(matches: readonly RawMatch[], rulesets: ReadonlyMap<number, RulesetRecord>, inSubfile: (m: RawMatch) => boolean): CommunityMatch[] {
  const byRule = new Map<string, CommunityMatch>();
  for (const m of matches) {
    const r = rulesets.get(m.rulesetId);
    if (!r?.community) continue;
    const key = `${m.rulesetId}\u0000${m.rule}`;
    const seen = byRule.get(key);
    if (seen) {
      if (!inSubfile(m)) seen.matchInSubfile = false;
      continue;
    }
    const meta = r.community.rules[m.rule] ?? {};
    byRule.set(key, {
      ruleName: m.rule, rulesetId: r.id, rulesetName: r.name, source: r.community.source,
      ...(meta.author !== undefined ? { author: meta.author } : {}),
      ...(meta.description !== undefined ? { description: meta.description } : {}),
      matchInSubfile: inSubfile(m),
    });
  }
  return [...byRule.values()];
}

/**
 * The verdict an analysis stores: null (none) when no community ruleset was enabled for its scan,
 * so a file is only called undetected by rules that looked at it.
 */
export function communityScan(snap: Pick<RulesSnapshot, 'community'>, matches: CommunityMatch[], date: number): CommunityScan | null {
  return snap.community.size === 0 ? null : { date, matches };
}
