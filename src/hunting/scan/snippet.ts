// The notification snippet (spec 3.5): a hexdump of the lines around pattern matches, matched bytes
// wrapped in *begin_highlight* / *end_highlight* in both the hex and the ASCII columns. Content
// search snippets are the same hexdump with vt-cli's markers (\x1c, \x1d).

/** What wraps highlighted bytes. */
export interface HighlightMarkers {
  begin: string;
  end: string;
}

/** Hunting notifications' markers (spec 3.5). */
export const NOTIFICATION_MARKERS: HighlightMarkers = { begin: '*begin_highlight*', end: '*end_highlight*' };
/** Bytes per line. */
export const SNIPPET_WIDTH = 16;
const WIDTH = SNIPPET_WIDTH;

/** Limits on a snippet's size. */
export interface SnippetOptions {
  /** Separate match regions shown, first ones by offset (default 5). */
  maxRegions?: number;
  /** Cap on the snippet's length in characters (default 4096); whole lines are dropped past it (the first line is always kept). */
  maxLength?: number;
  /** Default: NOTIFICATION_MARKERS. */
  markers?: HighlightMarkers;
}

/** Merged, clipped, sorted [start, end) byte ranges of the matches. */
function ranges(size: number, matches: readonly { offset: number; length: number }[]): [number, number][] {
  const sorted = matches
    .map((m): [number, number] => [Math.max(0, m.offset), Math.min(size, m.offset + m.length)])
    .filter(([s, e]) => e > s)
    .sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else merged.push([r[0], r[1]]);
  }
  return merged;
}

/** Each byte as two upper-case hex digits, and as its ASCII column character: tables, not a toString per byte. */
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, '0'));
const ASCII = Array.from({ length: 256 }, (_, b) => (b >= 0x20 && b <= 0x7e ? String.fromCharCode(b) : '.'));

/** One hexdump line starting at byte `start`; `flags[i - start]` says whether byte i is highlighted. */
function renderLine(data: Uint8Array, start: number, flags: readonly boolean[], { begin, end: close }: HighlightMarkers): string {
  const end = Math.min(start + WIDTH, data.length);
  let hex = '';
  let ascii = '';
  for (let i = start; i < end; i++) {
    const on = flags[i - start] === true;
    const opens = on && (i === start || flags[i - 1 - start] !== true);
    const closes = on && (i === end - 1 || flags[i + 1 - start] !== true);
    const b = data[i]!;
    if (opens) {
      hex += begin;
      ascii += begin;
    }
    hex += HEX[b]!;
    if (i < end - 1) hex += ' ';
    ascii += ASCII[b]!;
    if (closes) {
      hex += close;
      ascii += close;
    }
  }
  return `${hex}  ${ascii}`;
}

/**
 * The snippet for a rule's pattern matches in `data`, or null when there are none (condition-only
 * rules get no snippet). Each run of lines with matched bytes is shown with one line of context
 * before and after; regions whose lines touch are merged; separate regions are concatenated.
 */
export function snippet(
  data: Uint8Array,
  matches: readonly { offset: number; length: number }[],
  opts: SnippetOptions = {},
): string | null {
  const maxRegions = opts.maxRegions ?? 5;
  const maxLength = opts.maxLength ?? 4096;
  const lit = ranges(data.length, matches);
  if (lit.length === 0 || maxRegions < 1) return null;

  // Regions as inclusive line ranges, context included, merged when they overlap or touch.
  const lastLine = Math.floor((data.length - 1) / WIDTH);
  const regions: [number, number][] = [];
  for (const [s, e] of lit) {
    const from = Math.max(0, Math.floor(s / WIDTH) - 1);
    const to = Math.min(lastLine, Math.floor((e - 1) / WIDTH) + 1);
    const last = regions[regions.length - 1];
    if (last && from <= last[1] + 1) last[1] = Math.max(last[1], to);
    else if (regions.length < maxRegions) regions.push([from, to]);
    else break;
  }

  let k = 0; // first lit range that may reach the current line (lines are rendered in order)
  const lines: string[] = [];
  let length = 0;
  for (const [from, to] of regions) {
    for (let line = from; line <= to; line++) {
      const start = line * WIDTH;
      const flags = new Array<boolean>(WIDTH).fill(false);
      while (k < lit.length && lit[k]![1] <= start) k++;
      for (let j = k; j < lit.length && lit[j]![0] < start + WIDTH; j++) {
        const [s, e] = lit[j]!;
        for (let i = Math.max(s, start); i < Math.min(e, start + WIDTH); i++) flags[i - start] = true;
      }
      const text = renderLine(data, start, flags, opts.markers ?? NOTIFICATION_MARKERS);
      const added = text.length + (lines.length > 0 ? 1 : 0);
      if (length + added > maxLength && lines.length > 0) return lines.join('\n');
      lines.push(text);
      length += added;
    }
  }
  return lines.join('\n');
}

/**
 * The longest run of highlighted bytes on one line of a notification snippet (from its hex
 * column): a piece of what the rule matched, to find the matched bytes again in stored files.
 * Empty for a snippet without highlights.
 */
export function highlightedBytes(snippet: string, markers: HighlightMarkers = NOTIFICATION_MARKERS): Buffer {
  let best = Buffer.alloc(0);
  for (const line of snippet.split('\n')) {
    // `<hex>  <ascii>`: the hex column ends at the first double space outside a marker's bytes.
    const hex = line.slice(0, line.indexOf('  ') < 0 ? line.length : line.indexOf('  '));
    let from = hex.indexOf(markers.begin);
    while (from >= 0) {
      const to = hex.indexOf(markers.end, from);
      const run = Buffer.from(hex.slice(from + markers.begin.length, to < 0 ? undefined : to).replace(/\s+/g, ''), 'hex');
      if (run.length > best.length) best = run;
      if (to < 0) break;
      from = hex.indexOf(markers.begin, to);
    }
  }
  return best;
}
