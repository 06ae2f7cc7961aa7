// IoC Stream items (spec 4.1): the matched File object with the notification as context
// attributes; and the IoC Stream notification object (spec 4.4).
import type { NotificationRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { fileItemJson } from './file.js';

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

/**
 * One stream item as JSON text, with the file's attributes already serialized (FileDocuments);
 * descriptors only: type, id and context. A file never stored gets a bare object.
 */
export function streamItemJson(origin: string, n: NotificationRecord, attributesJson: string | undefined, descriptorsOnly: boolean): string {
  const attributes = descriptorsOnly ? null : (attributesJson ?? JSON.stringify({ sha256: n.sha256 }));
  return fileItemJson(origin, n.sha256, attributes, JSON.stringify(streamContext(n)));
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
