// A notification's snippet (a hexdump whose matched bytes are wrapped in *begin_highlight* and
// *end_highlight*, spec 3.5) rendered with the match marked, and the matched bytes read back.
import { h } from './dom.js';

const BEGIN = '*begin_highlight*';
const END = '*end_highlight*';

/** The snippet as a <pre> whose matched bytes are <mark>s (in the hex and the ASCII columns). */
export function hexdump(snippet: string): HTMLPreElement {
  const pre = h('pre', { class: 'hexdump', 'aria-label': 'Snippet of the match' });
  let inMatch = false;
  for (const piece of snippet.split(/(\*begin_highlight\*|\*end_highlight\*)/)) {
    if (piece === BEGIN) inMatch = true;
    else if (piece === END) inMatch = false;
    else if (piece) pre.append(inMatch ? h('mark', {}, piece) : piece);
  }
  return pre;
}

/** The matched bytes of a snippet (from its hex column), to find them again in a file. */
export function matchedBytes(snippet: string): Uint8Array {
  const out: number[] = [];
  for (const line of snippet.split('\n')) {
    // Lines are `<hex>  <ascii>`: the hex column is the part before the double space.
    const hex = line.split('  ')[0] ?? '';
    for (const m of hex.matchAll(/\*begin_highlight\*([^*]*)\*end_highlight\*/g)) {
      for (const b of m[1]!.trim().split(/\s+/)) if (/^[0-9a-f]{2}$/i.test(b)) out.push(parseInt(b, 16));
    }
  }
  return Uint8Array.from(out);
}

/** Whether `needle` occurs in `hay`. */
export function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  if (needle.length === 0) return false;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}
