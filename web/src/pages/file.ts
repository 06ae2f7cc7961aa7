// A File: hashes, size, type, names, submission dates, its notifications, download, and its
// bundled files as a tree down every level (opened on demand), the member where a notification
// matched marked and the way down to it opened.
import { api } from '../api.js';
import { fmtDate, fmtSize, h, replace } from '../dom.js';
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

async function children(id: string): Promise<FileObject[]> {
  return (await api.get(`/api/v3/files/${id}/bundled_files?limit=40`)).data as FileObject[];
}

/** Where the file's notifications matched: the members themselves, and the archives leading to them. */
interface Matches {
  members: Set<string>;
  via: Set<string>;
}

/**
 * The members that hold what the caller's notifications matched in a bundled file (Trawl notifies
 * the submitted file; the server finds the member by the snippet's highlighted bytes).
 */
async function matchesOf(notifications: StreamItem[]): Promise<Matches> {
  const out: Matches = { members: new Set(), via: new Set() };
  for (const n of notifications.filter((i) => i.context_attributes.hunting_info.match_in_subfile)) {
    const found = (await api.get(`/api/v3/intelligence/hunting_notifications/${n.context_attributes.notification_id}/matched_subfiles`)).data;
    for (const f of found as { id: string; context_attributes: { via: string[] } }[]) {
      out.members.add(f.id);
      for (const v of f.context_attributes.via) out.via.add(v);
    }
  }
  return out;
}

/** One level of the tree; each member opens its own bundled files when expanded. */
async function tree(id: string, matches: Matches): Promise<HTMLElement> {
  const members = await children(id);
  if (members.length === 0) return h('p', { class: 'muted' }, 'No bundled files.');
  const matched = matches.members;
  return h('ul', { class: 'tree' }, ...members.map((m) => {
    const label = [
      link(`/files/${m.id}`, m.attributes.meaningful_name ?? m.attributes.names?.[0] ?? m.id.slice(0, 16)),
      h('span', { class: 'muted' }, ` ${m.attributes.type_description ?? ''} · ${fmtSize(m.attributes.size)}`),
      matched.has(m.id) ? h('span', { class: 'badge match' }, 'matched') : null,
      matches.via.has(m.id) ? h('span', { class: 'badge' }, 'contains the match') : null,
    ];
    const sub = h('div');
    const node = h('details', { class: 'member' }, h('summary', {}, ...label), sub);
    node.addEventListener('toggle', async () => {
      if (node.open && !sub.hasChildNodes()) sub.append(await tree(m.id, matches));
    });
    // The way down to a matched member opens by itself.
    if (matches.via.has(m.id)) node.open = true;
    return h('li', { 'data-sha256': m.id, class: matched.has(m.id) ? 'matched' : '' }, node);
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
  replace(bundled, await tree(f.id, await matchesOf(stream)));
}
