// Helpers of the hunting benchmarks: rulesets created through the API, and how long a ruleset
// change takes to be live.
import { randomBytes } from 'node:crypto';
import { getJson, pool, request, upload, type Server } from './lib.js';

/** Creates enabled rulesets through the API (8 at a time); returns their ids in order. */
export async function createRulesets(s: Server, sets: { name: string; rules: string }[]): Promise<string[]> {
  const ids: string[] = new Array(sets.length);
  await pool(sets.length, 8, async (i) => {
    const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: sets[i]!.name, rules: sets[i]!.rules, enabled: true, limit: 1_000_000 } } }));
    const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (r.status !== 200) throw new Error(`create ruleset: ${r.status} ${r.body}`);
    ids[i] = JSON.parse(r.body.toString()).data.id;
  });
  return ids;
}

/** PATCHes a ruleset with a new rule, then uploads a file it matches until its notification shows. */
export async function changeLive(s: Server, rulesetId: string, k: number): Promise<number> {
  const marker = `CHANGE-LIVE-${k}-${randomBytes(4).toString('hex')}`;
  const rules = `rule change_${k} { strings: $a = "${marker}" condition: $a }`;
  const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { rules } } }));
  const t0 = performance.now();
  const r = await request('PATCH', `${s.url}/api/v3/intelligence/hunting_rulesets/${rulesetId}`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
  if (r.status !== 200) throw new Error(`PATCH: ${r.status} ${r.body}`);
  for (let i = 0; ; i++) {
    await upload(s, `change-${k}-${i}.bin`, Buffer.from(`${marker} ${i}`));
    const until = performance.now() + 1000;
    while (performance.now() < until) {
      const page = await getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=1&filter=tag:change_${k}`, s.key);
      if (page.data.length > 0) return (performance.now() - t0) / 1000;
      await new Promise((res) => setTimeout(res, 10));
    }
  }
}

