// IoC Stream items (spec 4.1): the matched File object with the notification as context
// attributes; and the IoC Stream notification object (spec 4.4).
import { huntingInfo, storedStreamContext, streamContextJson } from '../../model/stream-context.js';
import type { NotificationRecord, StreamEntry } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { fileItemJson } from './file.js';

/** A notification as a stream entry (for those read whole, e.g. by the live feed). */
export function streamEntryOf(n: NotificationRecord): Pick<StreamEntry, 'id' | 'date' | 'sha256' | 'context'> {
  return { id: n.id, date: n.date, sha256: n.sha256, context: storedStreamContext(n) };
}

/**
 * One stream item as JSON text, with the file's attributes already serialized (FileDocuments)
 * and the context as stored; descriptors only: type, id and context. A file never stored gets
 * a bare object.
 */
export function streamItemJson(origin: string, e: Pick<StreamEntry, 'id' | 'date' | 'sha256' | 'context'>, attributesJson: string | undefined, descriptorsOnly: boolean): string {
  const attributes = descriptorsOnly ? null : (attributesJson ?? JSON.stringify({ sha256: e.sha256 }));
  return fileItemJson(origin, e.sha256, attributes, streamContextJson(e.id, e.date, e.context));
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
