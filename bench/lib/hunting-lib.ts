// Helpers of the hunting benchmarks: rulesets created through the API, how long a ruleset change
// takes to be live, and how long an acknowledged upload takes to be notified.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ruleCollection } from '../corpora/corpus.js';
import { getJson, maxOf, pct, pool, request, upload, type Server } from './lib.js';

/** The ruleset whose notifications latency() waits for. */
export const LATENCY_PROBE = { name: 'latency_probe', rules: 'rule latency_probe { strings: $a = "TRAWL-LATENCY-PROBE" condition: $a }' };

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

/**
 * Every notification seen so far: pages newest first until a page ends 5 s (of notification
 * dates) below one already seen. Not at the first one seen: analyses completing together may
 * commit out of date order, and a notification stored just after a newer one sorts below it.
 */
async function poll(s: Server, seen: Map<string, number>, tag: string): Promise<void> {
  let url = `${s.url}/api/v3/intelligence/hunting_notifications?limit=40&filter=tag:${tag}`;
  let newestSeen = -Infinity;
  for (;;) {
    const page = await getJson(url, s.key);
    const now = performance.now();
    for (const n of page.data) {
      const sha = (n.attributes.tags as string[]).find((t) => /^[0-9a-f]{64}$/.test(t))!;
      if (seen.has(sha)) newestSeen = Math.max(newestSeen, n.attributes.date as number);
      else seen.set(sha, now);
    }
    const last = page.data.at(-1)?.attributes.date as number | undefined;
    if (last === undefined || last < newestSeen - 5 || !page.links.next) return;
    url = page.links.next;
  }
}

/** Open-loop uploads at `rate`/s of probe files; latency from acknowledgement to visible in the API. */
export async function latency(s: Server, rate: number, seconds: number): Promise<{ n: number; p50: number; p99: number; max: number; missing: number; samples: { at: number; ms: number }[] }> {
  const n = Math.max(1, Math.round(rate * seconds));
  const acked = new Map<string, number>();
  const seen = new Map<string, number>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      await poll(s, seen, 'latency_probe');
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const t0 = performance.now();
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const due = t0 + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const data = Buffer.concat([randomBytes(2048), Buffer.from(`TRAWL-LATENCY-PROBE ${i}`), randomBytes(2048)]);
    const sha = createHash('sha256').update(data).digest('hex');
    inflight.push(upload(s, `probe-${i}.bin`, data).then(() => void acked.set(sha, performance.now())));
  }
  await Promise.all(inflight);
  const until = performance.now() + 10_000;
  // Counted over this call's uploads: `seen` also holds the probe's earlier notifications.
  const found = () => [...acked.keys()].filter((h) => seen.has(h)).length;
  while (found() < n && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
  polling = false;
  await poller;
  // A notification still unseen: say whether it exists at all (the poller missed it) or not.
  for (const sha of [...acked.keys()].filter((h) => !seen.has(h))) {
    const found = (await getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=1&filter=${sha}`, s.key)).data.length;
    const file = await getJson(`${s.url}/api/v3/files/${sha}`, s.key).catch((e) => ({ error: String(e) }));
    console.error(`missing ${sha}: notification ${found ? 'stored' : 'not stored'}; file ${JSON.stringify(file.data?.attributes?.last_analysis_date ?? file)}`);
  }
  const samples = [...acked].filter(([sha]) => seen.has(sha)).map(([sha, t]) => ({ at: t, ms: Math.max(0, seen.get(sha)! - t) }));
  const lat = Float64Array.from(samples.map((x) => x.ms));
  return { n, p50: pct(lat, 50), p99: pct(lat, 99), max: maxOf(lat), missing: n - lat.length, samples };
}

/** Creates a user through the API (as the server's admin); returns its API key. */
export async function newUser(srv: Server, name: string): Promise<string> {
  const body = Buffer.from(JSON.stringify({ data: { type: 'user', id: name, attributes: {} } }));
  const r = await request('POST', `${srv.url}/api/v3/users`, { 'x-apikey': srv.key, 'content-type': 'application/json' }, [body]);
  if (r.status !== 200) throw new Error(`create user: ${r.status} ${r.body}`);
  return JSON.parse(r.body.toString()).data.attributes.apikey as string;
}

/**
 * The first rule files of a collection, in order, while they compile together with Debian's yara
 * and stay within `max` rules (files with imports or includes left out); written to `path`.
 */
export function yaraRules(dir: string, max: number, path: string): { rules: string; count: number } {
  let rules = '';
  let count = 0;
  for (const f of ruleCollection(dir)) {
    const n = (f.rules.match(/^\s*(?:(?:private|global)\s+)*rule\s+\w+/gm) ?? []).length;
    if (n === 0 || count + n > max || /^\s*(import|include)\s/m.test(f.rules)) continue;
    writeFileSync(path, rules + '\n' + f.rules);
    if (spawnSync('yara', [path, '/dev/null']).status !== 0) continue;
    rules += '\n' + f.rules;
    count += n;
  }
  writeFileSync(path, rules);
  return { rules, count };
}
