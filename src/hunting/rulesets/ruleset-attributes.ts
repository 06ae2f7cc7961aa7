// Checks the attributes a client sends for a hunting ruleset (spec 2.1, 2.4, 2.5): types,
// unknown and read-only attributes, and the values Trawl supports.
import { badRequest, invalidArgument } from '../../model/errors.js';

/** Addresses one ruleset may notify: each match is one message to all of them (as Bcc). */
export const MAX_EMAILS = 20;
const MAX_TAGS = 64;

/** No control characters (NUL, newlines in a name) and no unpaired surrogates (not UTF-8). */
const printable = (s: string) => !/[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

/** Writable attributes, by their VirusTotal names. */
export interface RulesetAttributes {
  name?: string;
  rules?: string;
  enabled?: boolean;
  limit?: number;
  notification_emails?: string[];
  match_object_type?: string;
  tags?: string[];
}

const READ_ONLY = new Set([
  'creation_date', 'modification_date', 'number_of_rules', 'rule_names', 'scheduled_disable_date', 'scheduled_disable_reason',
]);
/** Read-only attributes that change by themselves: a whole object PATCHed back may hold stale values, so they are ignored. */
const VOLATILE = new Set(['rate_limited', 'rate_limited_ratio', 'slow_scans', 'last_slow_scan']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** Values VirusTotal documents; only files can be matched until the other entities exist. */
const OBJECT_TYPES = new Set(['file', 'url', 'domain', 'ip', 'ip_address']);

const isStringList = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/**
 * Validates `attributes` of a create or PATCH body. vt-py sends computed attributes back
 * unchanged when it PATCHes a whole object, so read-only attributes are accepted when `current`
 * holds the same value and refused when they would change.
 */
export function checkRulesetAttributes(attributes: unknown, current?: Record<string, unknown>): RulesetAttributes {
  if (!attributes || typeof attributes !== 'object' || Array.isArray(attributes)) throw badRequest('"attributes" must be an object');
  const out: RulesetAttributes = {};
  for (const [k, v] of Object.entries(attributes)) {
    if (VOLATILE.has(k)) continue;
    if (READ_ONLY.has(k)) {
      if (current && JSON.stringify(current[k]) === JSON.stringify(v)) continue;
      throw invalidArgument(`attribute "${k}" is read-only`);
    }
    switch (k) {
      case 'name':
        if (typeof v !== 'string' || !v.trim() || v.length > 256) throw invalidArgument('"name" must be a non-empty string of at most 256 characters');
        if (!printable(v)) throw invalidArgument('"name" must not hold control characters or unpaired surrogates');
        out.name = v;
        break;
      case 'rules':
        if (typeof v !== 'string') throw invalidArgument('"rules" must be a string');
        out.rules = v;
        break;
      case 'enabled':
        if (typeof v !== 'boolean') throw invalidArgument('"enabled" must be true or false');
        out.enabled = v;
        break;
      case 'limit':
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw invalidArgument('"limit" must be a non-negative integer');
        out.limit = v;
        break;
      case 'notification_emails':
        if (!isStringList(v) || v.some((e) => !EMAIL.test(e))) throw invalidArgument('"notification_emails" must be a list of e-mail addresses');
        out.notification_emails = [...new Set(v)];
        if (out.notification_emails.length > MAX_EMAILS) throw invalidArgument(`"notification_emails" may hold at most ${MAX_EMAILS} addresses`);
        break;
      case 'match_object_type':
        if (typeof v !== 'string' || !OBJECT_TYPES.has(v)) throw invalidArgument('"match_object_type" must be one of file, url, domain, ip_address');
        if (v !== 'file') throw invalidArgument(`match_object_type "${v}" is not supported yet: Trawl matches files only`);
        out.match_object_type = v;
        break;
      case 'tags':
        if (!isStringList(v)) throw invalidArgument('"tags" must be a list of strings');
        out.tags = [...new Set(v)];
        if (out.tags.length > MAX_TAGS || out.tags.some((t) => t.length > 128 || !printable(t))) {
          throw invalidArgument(`"tags" may hold at most ${MAX_TAGS} tags of at most 128 printable characters`);
        }
        break;
      default:
        throw invalidArgument(`unknown attribute "${k}"`);
    }
  }
  return out;
}
