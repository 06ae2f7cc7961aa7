// What a file must contain for some rule (or search) to match it, as trigrams: a tree of `and`
// and `or` over single trigrams. Planners (rule-grams.ts, content-search terms) build one; the
// index answers it per segment with ascending file ordinals. Anything a planner cannot bound is
// left out of the tree as "no requirement": a query is a necessary condition, never sufficient,
// and every candidate it yields is scanned.

export type GramQuery = { gram: number } | { and: GramQuery[] } | { or: GramQuery[] };

/** `parts` all required; null (no requirement) parts drop out; null when none is left. */
export function allOf(parts: readonly (GramQuery | null)[]): GramQuery | null {
  const kept = parts.filter((p): p is GramQuery => p !== null);
  if (kept.length === 0) return null;
  return kept.length === 1 ? kept[0]! : { and: kept.flatMap((p) => ('and' in p ? p.and : [p])) };
}

/** One of `parts` required; null (no requirement) when any part is unbounded, or there are none. */
export function anyOf(parts: readonly (GramQuery | null)[]): GramQuery | null {
  if (parts.length === 0 || parts.some((p) => p === null)) return null;
  const kept = parts as GramQuery[];
  return kept.length === 1 ? kept[0]! : { or: kept.flatMap((p) => ('or' in p ? p.or : [p])) };
}

/** The trigrams of `bytes`; with `nocase`, each trigram as any of its ASCII case variants. */
export function literalQuery(bytes: Uint8Array, nocase: boolean, maxGrams = 32): GramQuery | null {
  if (bytes.length < 3) return null;
  const count = bytes.length - 2;
  // Long literals: trigrams spread over the whole literal; the rarest decides anyway.
  const step = count > maxGrams ? count / maxGrams : 1;
  const grams: GramQuery[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < Math.min(count, maxGrams); k++) {
    const i = Math.floor(k * step);
    const variants = nocase ? caseVariants(bytes[i]!, bytes[i + 1]!, bytes[i + 2]!) : [(bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!];
    const key = Math.min(...variants);
    if (seen.has(key)) continue;
    seen.add(key);
    grams.push(variants.length === 1 ? { gram: variants[0]! } : { or: variants.map((gram) => ({ gram })) });
  }
  return allOf(grams);
}

const isLetter = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

function caseVariants(...bytes: number[]): number[] {
  let out = [0];
  for (const b of bytes) {
    const forms = isLetter(b) ? [b | 0x20, b & ~0x20] : [b];
    out = out.flatMap((prefix) => forms.map((f) => (prefix << 8) | f));
  }
  return out;
}

/** Ascending ordinals in both. */
function intersect(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) {
    if (a[i]! < b[j]!) i++;
    else if (a[i]! > b[j]!) j++;
    else {
      out[k++] = a[i]!;
      i++;
      j++;
    }
  }
  return out.subarray(0, k);
}

/** Ascending ordinals in either. */
function union(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    if (j >= b.length || (i < a.length && a[i]! < b[j]!)) out[k++] = a[i++]!;
    else if (i >= a.length || b[j]! < a[i]!) out[k++] = b[j++]!;
    else {
      out[k++] = a[i++]!;
      j++;
    }
  }
  return out.subarray(0, k);
}

/**
 * The ordinals `q` holds for, given each trigram's ordinals (`postings`, ascending). Each
 * trigram is looked up once per call.
 */
export function evaluate(q: GramQuery, postings: (gram: number) => Uint32Array): Uint32Array {
  const memo = new Map<number, Uint32Array>();
  const lookup = (g: number) => {
    let p = memo.get(g);
    if (!p) memo.set(g, (p = postings(g)));
    return p;
  };
  const walk = (n: GramQuery): Uint32Array => {
    if ('gram' in n) return lookup(n.gram);
    if ('and' in n) {
      let acc: Uint32Array | null = null;
      // Single trigrams first, fewest files first: the set shrinks fastest.
      const order = [...n.and].sort((x, y) => Number('gram' in y) - Number('gram' in x));
      for (const part of order) {
        const p = walk(part);
        acc = acc ? intersect(acc, p) : p;
        if (acc.length === 0) break;
      }
      return acc ?? new Uint32Array(0);
    }
    return n.or.reduce<Uint32Array>((acc, part) => union(acc, walk(part)), new Uint32Array(0));
  };
  return walk(q);
}

/** Every trigram `q` mentions (to look up once, e.g. in a file's own trigram list). */
export function gramsOf(q: GramQuery, out = new Set<number>()): Set<number> {
  if ('gram' in q) out.add(q.gram);
  else for (const p of 'and' in q ? q.and : q.or) gramsOf(p, out);
  return out;
}
