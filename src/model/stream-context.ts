// A notification's IoC Stream context (spec 4.1): the `context_attributes` of its stream item.
// Everything in it is fixed when the notification is stored, so the store keeps it as JSON text
// (without the id and date, known only then) and a page splices it in instead of stringifying it
// again, 40 times per page. That text is also the only copy of the fields it holds (ruleset name,
// tags, rule tags, snippet, source, match_in_subfile): `recordFields` reads them back.
import type { NewNotification } from './records.js';

/** `hunting_info` as the stream shows it; an empty snippet is left out, as VirusTotal does. */
export function huntingInfo(n: NewNotification): Record<string, unknown> {
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

/** The context without `notification_id` and `notification_date`, as JSON text: what is stored. */
export function storedStreamContext(n: NewNotification): string {
  return JSON.stringify({
    origin: 'hunting',
    sources: [{ type: 'hunting_ruleset', id: String(n.rulesetId), label: n.rulesetName }],
    tags: n.tags,
    hunting_info: huntingInfo(n),
  });
}

/** The fields of a notification that only its stored context holds. */
export type ContextFields = Pick<NewNotification, 'rulesetName' | 'tags' | 'ruleTags' | 'snippet' | 'sourceKey' | 'sourceCountry' | 'matchInSubfile'>;

interface StoredContext {
  sources: [{ label: string }];
  tags: string[];
  hunting_info: { rule_tags: string[]; snippet?: string; source_key: string; source_country: string; match_in_subfile: boolean };
}

/** The inverse of storedStreamContext for the fields only it holds. An empty snippet reads back as null. */
export function recordFields(stored: string): ContextFields {
  const c = JSON.parse(stored) as StoredContext;
  const h = c.hunting_info;
  return {
    rulesetName: c.sources[0].label,
    tags: c.tags,
    ruleTags: h.rule_tags,
    snippet: h.snippet ?? null,
    sourceKey: h.source_key,
    sourceCountry: h.source_country,
    matchInSubfile: h.match_in_subfile,
  };
}

/** The whole context as JSON text: id and date first, then the stored part. */
export function streamContextJson(id: number, date: number, stored: string): string {
  // The stored part is a JSON object: its text after the opening brace continues this one.
  return `{"notification_id":"${id}","notification_date":${date},${stored.slice(stored.indexOf('{') + 1)}`;
}
