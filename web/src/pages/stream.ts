// Notifications (the IoC Stream): the stream filtered with the API's grammar, new notifications
// arriving live over the stream's server-sent events, each one's snippet with the match
// highlighted, and deletion of the selected ones or of everything the filter selects.
import { api, ApiError } from '../api.js';
import { fmtDate, h, replace } from '../dom.js';
import { hexdump } from '../hexdump.js';
import { link } from '../main.js';

/** Rows per layout container of the list (bench/web-stream-scroll.ts: 40 gave long frames). */
const CHUNK = 10;

export interface StreamItem {
  id: string;
  attributes: { type_description?: string; size?: number; meaningful_name?: string; names?: string[] };
  context_attributes: {
    notification_id: string;
    notification_date: number;
    sources: { id: string; label: string }[];
    tags: string[];
    hunting_info: { rule_name: string; snippet?: string; match_in_subfile: boolean };
  };
}

/** One notification: its rule, file, date, and the snippet behind a disclosure. */
export function notificationRow(item: StreamItem, selected: Set<string>, onToggle: () => void): HTMLElement {
  const c = item.context_attributes;
  const box = h('input', { type: 'checkbox', 'aria-label': `Select notification ${c.notification_id}`, checked: selected.has(c.notification_id) });
  box.addEventListener('change', () => {
    if (box.checked) selected.add(c.notification_id);
    else selected.delete(c.notification_id);
    onToggle();
  });
  const snippet = c.hunting_info.snippet;
  return h('article', { class: 'notification', 'data-id': c.notification_id },
    h('div', { class: 'row' }, box,
      h('strong', {}, c.hunting_info.rule_name),
      h('span', { class: 'muted' }, c.sources[0]?.label ?? ''),
      c.hunting_info.match_in_subfile && h('span', { class: 'badge' }, 'in a bundled file'),
      h('span', { class: 'muted' }, fmtDate(c.notification_date))),
    h('div', { class: 'row' }, link(`/files/${item.id}`, h('code', {}, item.id)),
      h('span', { class: 'muted' }, [item.attributes.meaningful_name, item.attributes.type_description].filter(Boolean).join(' · '))),
    snippet ? lazySnippet(snippet) : null);
}

/** The snippet's hexdump, built when first opened: thousands of rows stay light to lay out. */
function lazySnippet(snippet: string): HTMLDetailsElement {
  const d = h('details', {}, h('summary', {}, 'Snippet'));
  d.addEventListener('toggle', () => d.open && !d.querySelector('pre') && d.append(hexdump(snippet)));
  return d;
}

export async function streamPage(main: HTMLElement): Promise<() => void> {
  const params = new URLSearchParams(location.search);
  const filter = h('input', { type: 'search', id: 'stream-filter', value: params.get('filter') ?? '', placeholder: 'tag:my_rule date:2024-01-01+ source_id:12', 'aria-label': 'Filter notifications', list: 'filter-suggestions' });
  const suggestions = h('datalist', { id: 'filter-suggestions' });
  const list = h('div', { class: 'stream' });
  // What arrives live is announced here, not by the list (pages appended by scrolling are not news).
  const announce = h('p', { class: 'visually-hidden', role: 'status', 'aria-live': 'polite' });
  const error = h('p', { class: 'error', role: 'alert' });
  const live = h('span', { class: 'live', id: 'live-state' }, 'connecting…');
  const selected = new Set<string>();
  const del = h('button', { type: 'button', disabled: true }, 'Delete selected');
  const delAll = h('button', { type: 'button', class: 'secondary' }, 'Delete all matching the filter');
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'More');
  let next: string | undefined;
  let feed: EventSource | undefined;
  const toggled = () => {
    del.disabled = selected.size === 0;
    del.textContent = selected.size ? `Delete selected (${selected.size})` : 'Delete selected';
  };
  /** Pages of rows, each a container of its own; live arrivals go into the newest page at the top. */
  const show = (items: StreamItem[], atTop: boolean) => {
    const rows = items.map((i) => notificationRow(i, selected, toggled));
    if (atTop) {
      const top = list.firstElementChild?.classList.contains('live-page') ? list.firstElementChild : list.insertBefore(h('div', { class: 'page live-page' }), list.firstChild);
      top.prepend(...rows);
    } else {
      // Containers of CHUNK rows: a fast scroll brings a few of them into view per frame, not a page of 40.
      for (let i = 0; i < rows.length; i += CHUNK) list.append(h('div', { class: 'page' }, ...rows.slice(i, i + CHUNK)));
    }
    list.querySelector('.empty')?.remove();
  };
  const follow = () => {
    feed?.close();
    const q = new URLSearchParams();
    if (filter.value.trim()) q.set('filter', filter.value.trim());
    // The live feed is the stream's own URL asked for text/event-stream (EventSource does so).
    feed = new EventSource(`/api/v3/ioc_stream?${q}`);
    feed.addEventListener('open', () => (live.textContent = 'live'));
    feed.addEventListener('notification', (e) => {
      const item = JSON.parse((e as MessageEvent).data) as StreamItem;
      show([item], true);
      announce.textContent = `New notification: ${item.context_attributes.hunting_info.rule_name}`;
    });
    feed.addEventListener('error', () => (live.textContent = 'reconnecting…'));
  };
  // Suggestions for the filter box: the rule names of the caller's rulesets (tags are lower-cased).
  const ruleNames = new Set<string>();
  void api.get('/api/v3/intelligence/hunting_rulesets?limit=100').then((r) => {
    for (const rs of r.data) for (const n of rs.attributes.rule_names ?? []) ruleNames.add(String(n).toLowerCase());
  }, () => undefined);
  const load = async (append = false) => {
    error.textContent = '';
    const q = new URLSearchParams({ limit: '40' });
    if (filter.value.trim()) q.set('filter', filter.value.trim());
    if (append && next) q.set('cursor', next);
    try {
      const page = await api.get(`/api/v3/ioc_stream?${q}`);
      if (!append) {
        replace(list);
        selected.clear();
        toggled();
      }
      show(page.data, false);
      if (!append && page.data.length === 0) list.append(h('p', { class: 'muted empty' }, 'No notifications yet: they appear here as they arrive.'));
      next = page.data.length === 40 ? page.meta?.cursor : undefined;
      more.hidden = !next;
      const names = new Set<string>([...ruleNames, ...page.data.flatMap((i: StreamItem) => i.context_attributes.tags.filter((t: string) => !/^[0-9a-f]{64}$/.test(t)))]);
      replace(suggestions, ...[...names].slice(0, 100).map((t) => h('option', { value: `tag:${t}` })));
      if (!append) follow();
    } catch (e) {
      error.textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
    }
  };
  del.addEventListener('click', async () => {
    const ids = [...selected];
    for (const id of ids) {
      await api.delete(`/api/v3/ioc_stream_notifications/${id}`);
      list.querySelector(`[data-id="${id}"]`)?.remove();
      selected.delete(id);
    }
    toggled();
  });
  delAll.addEventListener('click', async () => {
    const f = filter.value.trim();
    if (!confirm(f ? `Delete every notification matching "${f}"?` : 'Delete every notification?')) return;
    const q = f ? `filter=${encodeURIComponent(f)}&` : '';
    try {
      await api.delete(`/api/v3/ioc_stream${q ? `?${q.slice(0, -1)}` : ''}`);
    } catch (e) {
      error.textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
      return;
    }
    // The API deletes in the background: its progress is what the filter still counts.
    const bar = h('progress', { max: '1', value: '0', 'aria-label': 'Deletion progress' });
    const left = h('span', { class: 'muted' });
    replace(error, 'Deleting in the background… ', bar, ' ', left);
    error.className = '';
    let first = -1;
    for (;;) {
      const count = Number((await api.get(`/api/v3/ioc_stream?${q}limit=1&count_limit=10000`)).meta?.count ?? 0);
      if (first < 0) first = Math.max(count, 1);
      bar.value = 1 - count / first;
      left.textContent = `${count.toLocaleString()}${count >= 10_000 ? '+' : ''} left`; // meta.count counts to 10,000
      if (count === 0) break;
      await new Promise((r) => setTimeout(r, 1000));
    }
    error.className = 'error';
    error.textContent = '';
    await load();
  });
  more.addEventListener('click', () => void load(true));
  // Endless scrolling: the next page loads as the More button comes into view (it stays a button
  // for the keyboard). One page at a time.
  let loading = false;
  const nearEnd = new IntersectionObserver(async (entries) => {
    if (!entries.some((e) => e.isIntersecting) || loading || !next) return;
    loading = true;
    try {
      await load(true);
    } finally {
      loading = false;
    }
    // Still in view (a tall screen, short pages): ask again.
    nearEnd.unobserve(more);
    if (!more.hidden) nearEnd.observe(more);
  }, { rootMargin: '800px 0px' });
  nearEnd.observe(more);
  filter.addEventListener('change', () => {
    history.replaceState(null, '', filter.value.trim() ? `?filter=${encodeURIComponent(filter.value.trim())}` : location.pathname);
    void load();
  });
  replace(main,
    h('div', { class: 'title-row' }, h('h1', {}, 'Notifications'), live),
    h('div', { class: 'toolbar' }, filter, suggestions, del, delAll), error, announce, list, more);
  await load();
  return () => {
    feed?.close();
    nearEnd.disconnect();
  };
}
