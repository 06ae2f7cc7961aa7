// The hunting ruleset list's filter and order grammar (spec 2.3): `enabled:`, `name:`, `rules:`
// and `tag:` terms and bare words (names), AND-combined, in the grammar of model/filter-grammar.ts;
// whole-word matching, with a trailing `*` as a prefix wildcard.
import { badRequest } from '../../model/errors.js';
import { booleanValue, parseFilter, type FilterDialect } from '../../model/filter-grammar.js';
import type { RulesetRecord } from '../../store/store.js';

export type RulesetPredicate = (r: RulesetRecord) => boolean;

const words = (text: string) => text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);

/** Whole-word match of `value` in `text`: a word, a run of words, or a word prefix with `*`. */
export function wordMatch(text: string, value: string): boolean {
  const v = value.toLowerCase();
  const haystack = words(text);
  if (v.endsWith('*')) {
    const prefix = v.slice(0, -1);
    return text.toLowerCase().startsWith(prefix) || haystack.some((w) => w.startsWith(prefix));
  }
  const needle = words(v);
  if (needle.length === 0) return false;
  for (let i = 0; i + needle.length <= haystack.length; i++) {
    if (needle.every((w, j) => haystack[i + j] === w)) return true;
  }
  return false;
}

/** The ruleset list's dialect: a bare word is a name (Cortex XSOAR sends `<name> enabled:True`). */
export const RULESET_FILTER: FilterDialect = { keys: ['enabled', 'name', 'rules', 'tag'], bareWord: 'name', tagKeys: ['tag'] };

/** Parses `filter`; unknown keys and bad values are BadRequestError naming the term. */
export function parseRulesetFilter(filter: string | undefined): RulesetPredicate {
  const predicates = parseFilter(filter, RULESET_FILTER).map((t): RulesetPredicate => {
    switch (t.key) {
      case 'enabled': {
        const want = booleanValue(t);
        return (r) => r.enabled === want;
      }
      case 'name':
        return (r) => wordMatch(r.name, t.value);
      case 'rules':
        return (r) => wordMatch(r.rules, t.value);
      default: {
        const tag = t.value.toLowerCase();
        return (r) => r.tags.some((x) => x.toLowerCase() === tag);
      }
    }
  });
  return (r) => predicates.every((p) => p(r));
}

export interface RulesetOrder {
  field: 'name' | 'creation_date' | 'modification_date';
  descending: boolean;
}

/** Parses `order` (name, creation_date or modification_date, with an optional +/- suffix;
 * no suffix is ascending). Absent: creation order. */
export function parseRulesetOrder(order: string | undefined): RulesetOrder {
  if (!order) return { field: 'creation_date', descending: false };
  const m = /^(name|creation_date|modification_date)([+-]?)$/.exec(order.trim());
  if (!m) throw badRequest(`invalid order "${order}": use name, creation_date or modification_date, optionally followed by + or -`);
  return { field: m[1] as RulesetOrder['field'], descending: m[2] === '-' };
}

/** The sort key of a ruleset under `order`; ties are broken by id. */
export function sortKey(r: RulesetRecord, order: RulesetOrder): string | number {
  if (order.field === 'name') return r.name.toLowerCase();
  return order.field === 'creation_date' ? r.creationDate : r.modificationDate;
}

export function compareRulesets(order: RulesetOrder): (a: RulesetRecord, b: RulesetRecord) => number {
  return (a, b) => {
    const ka = sortKey(a, order);
    const kb = sortKey(b, order);
    const c = ka < kb ? -1 : ka > kb ? 1 : a.id - b.id;
    return order.descending ? -c : c;
  };
}
