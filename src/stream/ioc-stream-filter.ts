// The IoC Stream filter grammar (spec 4.2): `date:`, `origin:`, `entity_id:`, `entity_type:`,
// `source_type:`, `source_id:`, `notification_tag:` and its alias `tag:`, AND-combined. Parsed
// into the narrowing part of a NotificationQuery; values Trawl has no notifications for (origin
// subscriptions, entity types other than file, sources other than rulesets) select nothing.
import { badRequest } from '../model/errors.js';
import type { NotificationQuery } from '../store/store.js';
import { intersect, parseDateTerm, splitTerms, type DateRange } from './filter-terms.js';

export const ORIGINS = ['hunting', 'subscriptions'] as const;
export const ENTITY_TYPES = ['file', 'domain', 'url', 'ip_address'] as const;
export const SOURCE_TYPES = ['hunting_ruleset', 'retrohunt_job', 'collection', 'threat_actor', 'threat_profile'] as const;
const KEYS = ['date', 'origin', 'entity_id', 'entity_type', 'source_type', 'source_id', 'notification_tag', 'tag'];

/** What a filter narrows a query to; `none` when no notification can match. */
export type StreamFilter = Pick<NotificationQuery, 'tags' | 'dateFrom' | 'dateTo' | 'entityId' | 'sourceIds'> & { none?: true };

function oneOf<T extends string>(what: string, value: string, valid: readonly T[]): T {
  if (!(valid as readonly string[]).includes(value)) {
    throw badRequest(`${what} "${value}" is not valid. Valid ${what}s are: ${valid.join(',')}`);
  }
  return value as T;
}

/** Parses `filter`; a bad term is BadRequestError naming it and the valid keys or values. */
export function parseStreamFilter(filter: string | undefined): StreamFilter {
  const tags = new Set<string>();
  let dates: DateRange = {};
  let entity: string | undefined;
  let sources: Set<number> | undefined;
  let none = false;
  for (const t of splitTerms(filter)) {
    if (!t.key || !t.value) throw badRequest(`invalid filter term "${t.raw}": expected key:value with key ${KEYS.join(', ')}`);
    switch (t.key) {
      case 'date':
        dates = intersect(dates, parseDateTerm(t));
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
      case 'entity_id': {
        // File ids are sha256s; repeated terms must all hold, so two different ones match nothing.
        const id = t.value.toLowerCase();
        if (entity !== undefined && entity !== id) none = true;
        entity = id;
        break;
      }
      case 'source_id': {
        const id = /^\d{1,15}$/.test(t.value) ? Number(t.value) : null;
        const next = new Set(id === null ? [] : [id]);
        sources = sources ? new Set([...sources].filter((s) => next.has(s))) : next;
        if (sources.size === 0) none = true;
        break;
      }
      case 'notification_tag':
      case 'tag':
        tags.add(t.value.toLowerCase());
        break;
      default:
        throw badRequest(`invalid filter term "${t.raw}": unknown key "${t.key}"; valid keys are ${KEYS.join(', ')}`);
    }
  }
  if (dates.from !== undefined && dates.to !== undefined && dates.from >= dates.to) none = true;
  return {
    ...(tags.size ? { tags: [...tags] } : {}),
    ...(dates.from !== undefined ? { dateFrom: dates.from } : {}),
    ...(dates.to !== undefined ? { dateTo: dates.to } : {}),
    ...(entity !== undefined ? { entityId: entity } : {}),
    ...(sources ? { sourceIds: [...sources] } : {}),
    ...(none ? { none: true as const } : {}),
  };
}
