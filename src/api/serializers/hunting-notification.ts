// Hunting notification objects (spec 3.1) and the File items of hunting_notification_files with
// their notification context (spec 3.4).
import type { FileRecord, NotificationRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { fileAttributes, fileItemJson } from './file.js';

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

/**
 * A File item with its notification context as JSON text, the file's attributes already
 * serialized (FileDocuments); `full: false` gives the descriptor form. A file never stored
 * gets the attributes of an empty one.
 */
export function notificationFileItemJson(origin: string, n: NotificationRecord, attributesJson: string | undefined, full: boolean): string {
  const attributes = full ? (attributesJson ?? JSON.stringify(fileAttributes(unstoredFile(n)))) : null;
  return fileItemJson(origin, n.sha256, attributes, JSON.stringify(notificationContext(n)));
}

/** What a file never stored looks like: known by its hash only. */
function unstoredFile(n: NotificationRecord): FileRecord {
  return { sha256: n.sha256, sha1: '', md5: '', size: 0, names: [], firstSubmissionDate: n.date, lastSubmissionDate: n.date, timesSubmitted: 0, uniqueSources: 0 };
}
