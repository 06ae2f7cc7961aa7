// The endpoint bucket a request counts under in `api_usage` (spec 7.3): VirusTotal's names where
// it has one (`file_download`, `retrohunt_jobs`, `intelligence_search`), else the collection.
const NAMED: [RegExp, string][] = [
  [/^\/files\/[^/]+\/download(_url)?$/, 'file_download'],
  [/^\/files\/upload/, 'file_upload'],
  [/^\/intelligence\/retrohunt_jobs/, 'retrohunt_jobs'],
  [/^\/intelligence\/hunting_rulesets/, 'hunting_rulesets'],
  [/^\/intelligence\/hunting_notification/, 'hunting_notifications'],
  [/^\/intelligence\/search/, 'intelligence_search'],
  [/^\/ioc_stream/, 'ioc_stream'],
];

const cache = new Map<string, string>();

/** `url` is the route's pattern (`/api/v3/files/:id`), so a bucket is computed once per route. */
export function usageBucket(url: string | undefined): string {
  if (!url) return 'other';
  let b = cache.get(url);
  if (b === undefined) {
    const path = url.replace(/^\/api\/v3/, '');
    b = NAMED.find(([re]) => re.test(path))?.[1] ?? (path.split('/')[1] || 'other');
    cache.set(url, b);
  }
  return b;
}
