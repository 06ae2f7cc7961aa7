// A public rule collection imported as a team would (one ruleset per rule file, through the API,
// enabled), then one synthetic positive per rule uploaded (an MZ header and the rule's literal
// strings in the forms its modifiers look for), and every notification compared with what
// Debian's yara 4.x reports on the same bytes with the same external variables.
//
//   node dist/bench/rule-collection.js DIR [max-files]
//
// DIR holds the collection's .yar/.yara files (e.g. signature-base's yara/ folder); rule
// collections are not part of this repository. BENCH_BUILD=DIR serves from another build (a
// checkout with its own dist/), to compare builds on the same collection.
import { createHash } from 'node:crypto';
import { ruleDeclarations } from '../src/hunting/rulesets/rule-names.js';
import { scanVariables } from '../src/hunting/scan/scan-variables.js';
import { yaraXEngineVersion } from '../src/hunting/engine/yara-x.js';
import type { FileAnalysis } from '../src/store/store.js';
import { minus, referenceYaraVersion, yaraMatches, type CaseRuleset, type MatchKey } from '../test/helpers/reference-yara.js';
import { join } from 'node:path';
import { ruleCollection } from './corpora/corpus.js';
import type { Server } from './lib/lib.js';

const lib = (await import(process.env.BENCH_BUILD ? join(process.env.BENCH_BUILD, 'dist/bench/lib/lib.js') : './lib/lib.js')) as typeof import('./lib/lib.js');
const { getJson, pool, request, startServer, upload, waitCompleted } = lib;

const dir = process.argv[2];
if (!dir) throw new Error('usage: rule-collection.js DIR [max-files]');
const maxFiles = Number(process.argv[3] ?? Infinity);
const reference = await referenceYaraVersion();
if (!reference) throw new Error('Debian\'s yara is needed: apt-get install yara');

const collection = ruleCollection(dir).slice(0, maxFiles);
const files = collection.map((r) => r.name);

/** The bytes a text string's escapes stand for. */
function unescape(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== '\\') {
      out.push(...Buffer.from(s[i]!, 'utf8'));
      continue;
    }
    const c = s[++i];
    if (c === 'x') {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(({ n: 10, t: 9, r: 13 } as Record<string, number>)[c!] ?? c!.charCodeAt(0));
  }
  return Buffer.from(out);
}

/** One instance of a hex pattern: wildcards as 0, jumps at their shortest, first alternatives. */
function hexBytes(body: string): Buffer {
  const tokens = body.replace(/\/\/[^\n]*|\/\*[\s\S]*?\*\//g, ' ').match(/\[[^\]]*\]|~?[0-9A-Fa-f?]{2}|[()|]/g) ?? [];
  const out: number[] = [];
  const skip: number[] = []; // depths at which the rest of an alternative is skipped
  let depth = 0;
  for (const t of tokens) {
    if (t === '(') depth++;
    else if (t === ')') {
      if (skip.at(-1) === depth) skip.pop();
      depth--;
    } else if (t === '|') {
      if (skip.at(-1) !== depth) skip.push(depth);
    } else if (skip.length === 0) {
      if (t.startsWith('[')) out.push(...new Array(Number(/\d+/.exec(t)?.[0] ?? 0)).fill(0x20));
      else {
        const v = parseInt(t.replace('~', '').replace(/\?/g, '0'), 16);
        out.push(t.startsWith('~') ? v ^ 0xff : v);
      }
    }
  }
  return Buffer.from(out);
}

/** An MZ header and every literal string of `rule` (its text), each on a line of its own. */
function positive(rule: string): Buffer {
  const parts: Buffer[] = [Buffer.from('MZ')];
  for (const m of rule.matchAll(/^\s*\$\w*\s*=\s*"((?:\\.|[^"\\])*)"([^\n]*)$/gm)) {
    const text = unescape(m[1]!);
    const mods = m[2]!;
    const wide = /\bwide\b/.test(mods);
    if (!wide || /\bascii\b/.test(mods)) parts.push(text);
    if (wide) parts.push(Buffer.from(text.toString('latin1'), 'utf16le'));
    if (/\bbase64\b/.test(mods)) parts.push(Buffer.from(text.toString('base64')));
  }
  for (const m of rule.matchAll(/^\s*\$\w*\s*=\s*\{([^}]*)\}/gm)) parts.push(hexBytes(m[1]!));
  return Buffer.concat(parts.flatMap((p) => [p, Buffer.from('\n')]));
}

/** Each rule's text, cut from its declaration line to the next one's. */
function rulesOf(source: string): { name: string; text: string }[] {
  const lines = source.split('\n');
  const decl = ruleDeclarations(source);
  return decl.map((d, i) => ({ name: d.name, text: lines.slice(d.line - 1, (decl[i + 1]?.line ?? lines.length + 1) - 1).join('\n') }));
}

const s: Server = await startServer();
try {
  // 1. Import: one ruleset per file, 8 at a time, as `trawl hunting ruleset add` would.
  const t0 = performance.now();
  const sources = collection.map((r) => r.rules);
  const ids: (number | null)[] = new Array(files.length).fill(null);
  const refusedByTrawl: string[] = [];
  await pool(files.length, 8, async (i) => {
    const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: files[i], rules: sources[i], enabled: true, limit: 1_000_000 } } }));
    const r = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
    if (r.status === 200) ids[i] = Number(JSON.parse(r.body.toString()).data.id);
    else refusedByTrawl.push(`${files[i]}: ${JSON.parse(r.body.toString()).error.message.split('\n')[0]}`);
  });
  const importSeconds = (performance.now() - t0) / 1000;
  const rulesets: CaseRuleset[] = ids.flatMap((id, i) => (id === null ? [] : [{ id, source: sources[i]! }]));
  const ruleCount = rulesets.reduce((n, r) => n + rulesOf(r.source).length, 0);

  // 2. One synthetic positive per rule, uploaded once per distinct content, all named alike.
  const positives = new Map<string, Buffer>();
  for (const r of rulesets) for (const rule of rulesOf(r.source)) positives.set(positive(rule.text).toString('latin1'), positive(rule.text));
  const contents = [...positives.values()];
  const name = 'sample.exe';
  const analyses: string[] = new Array(contents.length);
  await pool(contents.length, 16, async (i) => {
    analyses[i] = await upload(s, name, contents[i]!);
  });
  await waitCompleted(s, analyses);

  // 3. Trawl's notifications, by (file, ruleset, rule).
  const shas = contents.map((c) => createHash('sha256').update(c).digest('hex'));
  const shaIndex = new Map(shas.map((sha, i) => [sha, i]));
  const trawl = new Set<MatchKey>();
  for (let cursor = ''; ; ) {
    const page = await getJson(`${s.url}/api/v3/intelligence/hunting_notifications?limit=40&relationships=file${cursor ? `&cursor=${cursor}` : ''}`, s.key);
    for (const n of page.data) trawl.add(`${shaIndex.get(n.relationships.file.data.id)}\t${n.attributes.ruleset_id}\t${n.attributes.rule_name}`);
    if (!page.meta?.cursor) break;
    cursor = encodeURIComponent(page.meta.cursor);
  }

  // 4. yara on the same bytes, with the external variables Trawl gave each file's scan.
  const groups = new Map<string, number[]>();
  await pool(contents.length, 8, async (i) => {
    const a = (await getJson(`${s.url}/api/v3/files/${shas[i]}`, s.key)).data.attributes;
    const analysis = { typeTag: a.type_tag, typeTags: a.type_tags ?? [], typeExtension: a.type_extension ?? '', tags: a.tags ?? [] } as unknown as FileAnalysis;
    const key = JSON.stringify(scanVariables({ name, newFile: true, submissions: 1 }, analysis));
    groups.set(key, [...(groups.get(key) ?? []), i]);
  });
  const ref = new Set<MatchKey>();
  let refusedByYara = new Map<number, string>();
  for (const [vars, members] of groups) {
    const r = await yaraMatches(rulesets, members.map((i) => contents[i]!), JSON.parse(vars));
    refusedByYara = r.refused;
    for (const k of r.matches) {
      const [f, ...rest] = k.split('\t');
      ref.add([members[Number(f)], ...rest].join('\t'));
    }
  }
  const compared = (set: Set<MatchKey>) => new Set([...set].filter((k) => !refusedByYara.has(Number(k.split('\t')[1]))));
  const missed = minus(compared(ref), compared(trawl));
  const extra = minus(compared(trawl), compared(ref));
  const rulesetName = new Map(rulesets.map((r) => [r.id, files[ids.indexOf(r.id)]]));
  const show = (k: string) => {
    const [f, id, rule] = k.split('\t');
    return `${rulesetName.get(Number(id))}:${rule} on positive ${f}`;
  };
  console.log(JSON.stringify({
    engine: `YARA-X ${yaraXEngineVersion()}`,
    reference,
    ruleFiles: files.length,
    rulesetsAccepted: rulesets.length,
    rules: ruleCount,
    refusedByTrawl: refusedByTrawl.length,
    refusedByYara: refusedByYara.size,
    importSeconds: Math.round(importSeconds * 10) / 10,
    positives: contents.length,
    variableGroups: groups.size,
    yaraMatches: compared(ref).size,
    trawlMatches: compared(trawl).size,
    missed: missed.length,
    extra: extra.length,
  }, null, 1));
  for (const r of refusedByTrawl) console.log(`refused by Trawl: ${r}`);
  for (const [id, why] of refusedByYara) console.log(`refused by yara: ${rulesetName.get(id)}: ${why.split('\n')[0]}`);
  for (const k of missed.slice(0, 50)) console.log(`missed: ${show(k)}`);
  for (const k of extra.slice(0, 50)) console.log(`extra: ${show(k)}`);
} finally {
  await s.stop();
}
