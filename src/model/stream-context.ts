// A notification's IoC Stream context (spec 4.1): the `context_attributes` of its stream item.
// Everything in it is fixed when the notification is stored, so the store keeps it as JSON text
// (without the id and date, known only then) and a page splices it in instead of reading the
// columns it comes from and stringifying them again, 40 times per page.
import type { NewNotification } from '../store/store.js';

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

/** The whole context as JSON text: id and date first, then the stored part. */
export function streamContextJson(id: number, date: number, stored: string): string {
  // The stored part is a JSON object: its text after the opening brace continues this one.
  return `{"notification_id":"${id}","notification_date":${date},${stored.slice(stored.indexOf('{') + 1)}`;
}
