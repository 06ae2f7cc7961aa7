// IoC Stream items (spec 4.1): the matched File object with the notification as context
// attributes; and the IoC Stream notification object (spec 4.4).
import type { FileRecord, NotificationRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { fileObject } from './file.js';

/** `hunting_info` as the stream shows it; an empty snippet is left out, as VirusTotal does. */
function huntingInfo(n: NotificationRecord): Record<string, unknown> {
  return {
    rule_name: n.ruleName,
    rule_tags: n.ruleTags,
    ...(n.snippet ? { snippet: n.snippet } : {}),
    source_country: n.sourceCountry,
    source_key: n.sourceKey,
    match_in_subfile: n.matchInSubfile,
    match_source: 'ORIGINAL_FILE',
  };
}

export function streamContext(n: NotificationRecord): Record<string, unknown> {
  return {
    notification_id: String(n.id),
    notification_date: n.date,
    origin: 'hunting',
    sources: [{ type: 'hunting_ruleset', id: String(n.rulesetId), label: n.rulesetName }],
    tags: n.tags,
    hunting_info: huntingInfo(n),
  };
}

/** One stream item; descriptors only: type, id and context. A file never stored gets a bare object. */
export function streamItem(origin: string, n: NotificationRecord, f: FileRecord | null, descriptorsOnly: boolean): VtObject {
  const context_attributes = streamContext(n);
  if (descriptorsOnly) return { type: 'file', id: n.sha256, context_attributes };
  const file = f ? fileObject(origin, f) : { type: 'file', id: n.sha256, links: { self: absoluteUrl(origin, `/api/v3/files/${n.sha256}`) }, attributes: { sha256: n.sha256 } };
  return { ...file, context_attributes };
}

export function streamNotificationObject(origin: string, n: NotificationRecord): VtObject {
  return {
    type: 'ioc_stream_notification',
    id: String(n.id),
    links: { self: absoluteUrl(origin, `/api/v3/ioc_stream_notifications/${n.id}`) },
    attributes: {
      date: n.date,
      entity_type: n.entityType,
      entity_id: n.sha256,
      origin: 'hunting',
      hunting_info: huntingInfo(n),
      sources: [{ type: 'hunting_ruleset', id: String(n.rulesetId) }],
      tags: n.tags,
    },
  };
}
