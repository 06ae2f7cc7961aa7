// The IoC Stream filter dialect (spec 4.2): `date:`, `origin:`, `entity_id:`, `entity_type:`,
// `source_type:`, `source_id:`, `notification_tag:` and its aliases `tag:` and `notification_tags:`,
// AND-combined, in the grammar of model/filter-grammar.ts. Parsed into the narrowing part of a
// NotificationQuery; values Trawl has no notifications for (origin subscriptions, entity types
// other than file, sources other than rulesets) select nothing. File hashes are resolved to
// sha256s later (file-hash-terms.ts), where the store is at hand.
import { dateRange, intersect, oneOf, parseFilter, type DateRange, type FilterDialect } from '../model/filter-grammar.js';
import type { NotificationQuery } from '../store/store.js';

export const ORIGINS = ['hunting', 'subscriptions'] as const;
export const ENTITY_TYPES = ['file', 'domain', 'url', 'ip_address'] as const;
export const SOURCE_TYPES = ['hunting_ruleset', 'retrohunt_job', 'collection', 'threat_actor', 'threat_profile'] as const;

/**
 * No bare words: the same filter selects what DELETE /ioc_stream deletes, and VirusTotal documents
 * none, so a stray word is refused rather than guessed at.
 */
export const STREAM_FILTER: FilterDialect = {
  keys: ['date', 'origin', 'entity_id', 'entity_type', 'source_type', 'source_id', 'notification_tag'],
  aliases: { tag: 'notification_tag', notification_tags: 'notification_tag' },
  tagKeys: ['notification_tag'],
};

/**
 * What a filter narrows a query to; `none` when no notification can match. `entityIds` and `tags`
 * are as written (lower-cased): an MD5 or SHA-1 among them still has to become a sha256.
 */
export type StreamFilter = Pick<NotificationQuery, 'tags' | 'dateFrom' | 'dateTo' | 'sourceIds'> & { entityIds?: string[]; none?: true };

/** Parses `filter`; a bad term is BadRequestError naming it and the valid keys or values. */
export function parseStreamFilter(filter: string | undefined): StreamFilter {
  const tags = new Set<string>();
  const entities = new Set<string>();
  let dates: DateRange = {};
  let sources: Set<number> | undefined;
  let none = false;
  for (const t of parseFilter(filter, STREAM_FILTER)) {
    switch (t.key) {
      case 'date':
        dates = intersect(dates, dateRange(t));
        break;
      case 'origin':
        if (oneOf('origin', t.value, ORIGINS) !== 'hunting') none = true;
        break;
      case 'entity_type':
        if (oneOf('entity_type', t.value, ENTITY_TYPES) !== 'file') none = true;
        break;
      case 'source_type':
        if (oneOf('source_type', t.value, SOURCE_TYPES) !== 'hunting_ruleset') none = true;
        break;
      case 'entity_id':
        // File ids are hashes; repeated terms must all hold (compared once they are sha256s).
        entities.add(t.value.toLowerCase());
        break;
      case 'source_id': {
        const id = /^\d{1,15}$/.test(t.value) ? Number(t.value) : null;
        const next = new Set(id === null ? [] : [id]);
        sources = sources ? new Set([...sources].filter((s) => next.has(s))) : next;
        if (sources.size === 0) none = true;
        break;
      }
      default:
        tags.add(t.value.toLowerCase());
    }
  }
  if (dates.from !== undefined && dates.to !== undefined && dates.from >= dates.to) none = true;
  return {
    ...(tags.size ? { tags: [...tags] } : {}),
    ...(dates.from !== undefined ? { dateFrom: dates.from } : {}),
    ...(dates.to !== undefined ? { dateTo: dates.to } : {}),
    ...(entities.size ? { entityIds: [...entities] } : {}),
    ...(sources ? { sourceIds: [...sources] } : {}),
    ...(none ? { none: true as const } : {}),
  };
}
