// A File: hashes, size, type, names, submission dates, its notifications, download, and its
// bundled files as a tree down every level (opened on demand), the member that holds a
// notification's match marked.
import { api } from '../api.js';
import { fmtDate, fmtSize, h, replace } from '../dom.js';
import { contains, matchedBytes } from '../hexdump.js';
import { link } from '../main.js';
import { notificationRow, type StreamItem } from './stream.js';

interface FileObject {
  id: string;
  attributes: {
    md5?: string; sha1?: string; sha256?: string; size?: number; type_description?: string; magic?: string;
    names?: string[]; meaningful_name?: string; first_submission_date?: number; last_submission_date?: number; times_submitted?: number;
  };
  context_attributes?: Record<string, unknown>;
}

/** Members small enough to look for the matched bytes in (read through the download route). */
const MAX_PROBED_BYTES = 4 << 20;
const MAX_PROBED_MEMBERS = 64;

async function children(id: string): Promise<FileObject[]> {
  return (await api.get(`/api/v3/files/${id}/bundled_files?limit=40`)).data as FileObject[];
}

/**
 * Which of `members` hold `needle` (the matched bytes of a notification found in a bundled file):
 * Trawl notifies the submitted file, so the page finds the member by its bytes.
 */
async function membersHolding(members: FileObject[], needle: Uint8Array, budget: { n: number }): Promise<Set<string>> {
  const hits = new Set<string>();
  for (const m of members) {
    if (needle.length === 0 || budget.n-- <= 0 || (m.attributes.size ?? Infinity) > MAX_PROBED_BYTES) continue;
    const res = await fetch(`/api/v3/files/${m.id}/download`, { credentials: 'same-origin' });
    if (res.ok && contains(new Uint8Array(await res.arrayBuffer()), needle)) hits.add(m.id);
  }
  return hits;
}

/** One level of the tree; each member opens its own bundled files when expanded. */
async function tree(id: string, needles: Uint8Array[], budget: { n: number }): Promise<HTMLElement> {
  const members = await children(id);
  if (members.length === 0) return h('p', { class: 'muted' }, 'No bundled files.');
  const matched = new Set<string>();
  for (const n of needles) for (const m of await membersHolding(members, n, budget)) matched.add(m);
  return h('ul', { class: 'tree', role: 'tree' }, ...members.map((m) => {
    const label = [
      link(`/files/${m.id}`, m.attributes.meaningful_name ?? m.attributes.names?.[0] ?? m.id.slice(0, 16)),
      h('span', { class: 'muted' }, ` ${m.attributes.type_description ?? ''} · ${fmtSize(m.attributes.size)}`),
      matched.has(m.id) ? h('span', { class: 'badge match' }, 'matched') : null,
    ];
    const sub = h('div');
    const node = h('details', { class: 'member' }, h('summary', {}, ...label), sub);
    node.addEventListener('toggle', async () => {
      if (node.open && !sub.hasChildNodes()) sub.append(await tree(m.id, needles, budget));
    }, { once: false });
    return h('li', { role: 'treeitem', 'data-sha256': m.id, class: matched.has(m.id) ? 'matched' : '' }, node);
  }));
}

export async function filePage(main: HTMLElement, id: string): Promise<void> {
  const f = (await api.get(`/api/v3/files/${id}`)).data as FileObject;
  const a = f.attributes;
  const rows: [string, unknown][] = [
    ['SHA-256', h('code', {}, f.id)], ['SHA-1', h('code', {}, a.sha1 ?? '')], ['MD5', h('code', {}, a.md5 ?? '')],
    ['Size', `${fmtSize(a.size)} (${a.size ?? 0} bytes)`], ['Type', a.type_description ?? '—'], ['Magic', a.magic ?? '—'],
    ['Names', (a.names ?? []).join(', ') || '—'], ['First submission', fmtDate(a.first_submission_date)],
    ['Last submission', fmtDate(a.last_submission_date)], ['Submissions', a.times_submitted ?? 0],
  ];
  const notes = h('div', { class: 'stream' });
  const bundled = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const parents = h('div');
  replace(main,
    h('div', { class: 'title-row' }, h('h1', {}, a.meaningful_name ?? 'File'),
      h('a', { href: `/api/v3/files/${f.id}/download`, download: a.meaningful_name ?? f.id, class: 'button' }, 'Download')),
    h('dl', { class: 'facts' }, ...rows.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v as Node)])),
    h('h2', {}, 'Notifications'), notes,
    h('h2', {}, 'Bundled files'), bundled,
    h('h2', {}, 'Compressed parents'), parents);

  const stream = (await api.get(`/api/v3/ioc_stream?limit=40&filter=${encodeURIComponent(`entity_id:${f.id}`)}`)).data as StreamItem[];
  const selected = new Set<string>();
  replace(notes, stream.length ? stream.map((i) => notificationRow(i, selected, () => undefined)) : h('p', { class: 'muted' }, 'None of yours.'));
  const ps = (await api.get(`/api/v3/files/${f.id}/compressed_parents?limit=40`)).data as FileObject[];
  replace(parents, ps.length ? h('ul', {}, ...ps.map((p) => h('li', {}, link(`/files/${p.id}`, p.attributes.meaningful_name ?? p.id)))) : h('p', { class: 'muted' }, 'None.'));
  const needles = stream.filter((i) => i.context_attributes.hunting_info.match_in_subfile && i.context_attributes.hunting_info.snippet)
    .map((i) => matchedBytes(i.context_attributes.hunting_info.snippet!));
  replace(bundled, await tree(f.id, needles, { n: MAX_PROBED_MEMBERS }));
}
