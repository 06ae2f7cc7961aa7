// Community rulesets (`trawl rules import`): a collection of YARA files an operator loads, owned
// by the system account (COMMUNITY_OWNER_ID), whose matches make files' verdicts (VirusTotal's
// crowdsourced_yara_results and a Trawl-YARA engine result) instead of notifications. One
// ruleset per file, named by its path in the collection; importing the collection again
// refreshes it: changed files are updated, removed ones disabled, new ones added. A file that
// does not compile is reported and skipped (a version of it imported before stays as it was).
import { COMMUNITY_OWNER_ID, type CommunityRuleset, type RulesetRecord } from '../../model/records.js';
import type { Store } from '../../store/store.js';
import { ruleDeclarations } from './rule-names.js';
import { validateRuleset } from './rule-validation.js';

/** One YARA file of a collection. */
export interface CollectionFile {
  /** Path inside the collection, `/`-separated: the ruleset's name. */
  path: string;
  source: string;
}

/** What happened to one file or ruleset; told as it happens (progress) and counted. */
export type ImportOutcome = 'added' | 'updated' | 'unchanged' | 'enabled' | 'disabled' | 'failed';

export interface ImportEvent {
  outcome: ImportOutcome;
  name: string;
  /** Why a file failed (the compiler's message). */
  error?: string;
}

export type ImportSummary = Record<ImportOutcome, number>;

const STRING_META = /\b(author|description)\s*=\s*"((?:[^"\\\n]|\\.)*)"/g;

/**
 * `author` and `description` meta of each rule (best effort, from the source text: the engine
 * only reports the meta of rules that matched, and the verdicts are built without a scan's meta).
 */
export function ruleMeta(source: string): CommunityRuleset['rules'] {
  const lines = source.split('\n');
  const rules = ruleDeclarations(source);
  const out: CommunityRuleset['rules'] = {};
  rules.forEach((r, i) => {
    const body = lines.slice(r.line - 1, (rules[i + 1]?.line ?? lines.length + 1) - 1).join('\n');
    const meta = /\bmeta\s*:([\s\S]*?)(?:\bstrings\s*:|\bcondition\s*:|$)/.exec(body)?.[1] ?? '';
    const found: { author?: string; description?: string } = {};
    for (const m of meta.matchAll(STRING_META)) {
      const key = m[1] as 'author' | 'description';
      found[key] ??= m[2]!.replace(/\\(["\\])/g, '$1');
    }
    if (found.author !== undefined || found.description !== undefined) out[r.name] = found;
  });
  return out;
}

const sameMeta = (a: CommunityRuleset, b: CommunityRuleset) => a.source === b.source && JSON.stringify(a.rules) === JSON.stringify(b.rules);

/**
 * Makes the community rulesets of collection `source` those of `files`. Rulesets of other
 * collections are left alone. `onEvent` hears each outcome as it happens.
 */
export async function importCollection(
  store: Store, source: string, files: readonly CollectionFile[], onEvent: (e: ImportEvent) => void = () => undefined,
): Promise<ImportSummary> {
  const summary: ImportSummary = { added: 0, updated: 0, unchanged: 0, enabled: 0, disabled: 0, failed: 0 };
  const tell = (e: ImportEvent) => {
    summary[e.outcome]++;
    onEvent(e);
  };
  const existing = new Map<string, RulesetRecord>();
  for (const r of await store.listRulesetsOf(COMMUNITY_OWNER_ID)) if (r.community?.source === source) existing.set(r.name, r);
  const seen = new Set<string>();
  for (const f of files) {
    seen.add(f.path);
    let ruleNames: string[];
    try {
      ruleNames = validateRuleset(f.source).ruleNames;
    } catch (e) {
      tell({ outcome: 'failed', name: f.path, error: (e as Error).message });
      continue;
    }
    const community: CommunityRuleset = { source, rules: ruleMeta(f.source) };
    const date = Math.floor(Date.now() / 1000);
    const before = existing.get(f.path);
    if (!before) {
      await store.createRuleset({
        ownerId: COMMUNITY_OWNER_ID, name: f.path, rules: f.source, enabled: true, limit: 0, notificationEmails: [],
        matchObjectType: 'file', tags: [], ruleNames, creationDate: date, modificationDate: date, community,
      });
      tell({ outcome: 'added', name: f.path });
    } else if (before.rules !== f.source || !before.community || !sameMeta(before.community, community)) {
      await store.updateRuleset(before.id, { rules: f.source, ruleNames, community, enabled: true, modificationDate: date });
      tell({ outcome: 'updated', name: f.path });
    } else if (!before.enabled) {
      await store.updateRuleset(before.id, { enabled: true, modificationDate: date });
      tell({ outcome: 'enabled', name: f.path });
    } else {
      tell({ outcome: 'unchanged', name: f.path });
    }
  }
  for (const [name, r] of existing) {
    if (seen.has(name) || !r.enabled) continue;
    await store.updateRuleset(r.id, { enabled: false, modificationDate: Math.floor(Date.now() / 1000) });
    tell({ outcome: 'disabled', name });
  }
  return summary;
}
