// A notification's snippet (a hexdump whose matched bytes are wrapped in *begin_highlight* and
// *end_highlight*, spec 3.5) rendered with the match marked.
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
