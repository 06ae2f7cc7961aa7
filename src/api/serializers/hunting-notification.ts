// Hunting notification objects (spec 3.1) and the File items of hunting_notification_files with
// their notification context (spec 3.4).
import type { FileRecord, NotificationRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { fileObject } from './file.js';

export const notificationPath = (id: number) => `/api/v3/intelligence/hunting_notifications/${id}`;

export function notificationObject(origin: string, n: NotificationRecord, withFile = false): VtObject {
  const o: VtObject = {
    type: 'hunting_notification',
    id: String(n.id),
    links: { self: absoluteUrl(origin, notificationPath(n.id)) },
    attributes: {
      date: n.date,
      match_in_subfile: n.matchInSubfile,
      rule_name: n.ruleName,
      rule_tags: n.ruleTags,
      // Rules without strings have no snippet; an empty string keeps the attribute's type.
      snippet: n.snippet ?? '',
      source_country: n.sourceCountry,
      source_key: n.sourceKey,
      tags: n.tags,
      ruleset_id: String(n.rulesetId),
      ruleset_name: n.rulesetName,
    },
  };
  if (withFile) {
    const rel = absoluteUrl(origin, `${notificationPath(n.id)}/relationships/file`);
    o.relationships = {
      file: { data: { type: 'file', id: n.sha256 }, links: { self: rel, related: absoluteUrl(origin, `${notificationPath(n.id)}/file`) } },
    };
  }
  return o;
}

/** The notification's context, as hunting_notification_files items carry it. */
export function notificationContext(n: NotificationRecord): Record<string, unknown> {
  return {
    notification_id: String(n.id),
    notification_date: n.date,
    notification_snippet: n.snippet ?? '',
    notification_tags: n.tags,
    notification_source_key: n.sourceKey,
    notification_source_country: n.sourceCountry,
    match_in_subfile: n.matchInSubfile,
    rule_name: n.ruleName,
    rule_tags: n.ruleTags,
    ruleset_id: String(n.rulesetId),
    ruleset_name: n.rulesetName,
  };
}

/** A File object with its notification context; `full: false` gives the descriptor form. */
export function notificationFileItem(origin: string, n: NotificationRecord, f: FileRecord, full: boolean): VtObject {
  const context_attributes = notificationContext(n);
  if (!full) return { type: 'file', id: n.sha256, context_attributes };
  return { ...fileObject(origin, f), context_attributes };
}
