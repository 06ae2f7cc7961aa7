// Livehunt: the user's rulesets and those shared with them (the API's filter and order), and one
// ruleset's page: the YARA editor checked while typing, name, enabled, daily limit and e-mails.
import { api, ApiError, currentSession } from '../api.js';
import { fmtDate, h, replace } from '../dom.js';
import { link, navigate } from '../main.js';
import type { ValidationResult } from '../yara-editor.js';

const BASE = '/api/v3/intelligence/hunting_rulesets';

interface Ruleset {
  id: string;
  attributes: { name: string; rules: string; enabled: boolean; limit: number; notification_emails: string[]; modification_date: number; number_of_rules: number };
  relationships?: { owner?: { data: { id: string } | null } };
}

export async function livehuntPage(main: HTMLElement): Promise<void> {
  const filter = h('input', { type: 'search', id: 'ruleset-filter', placeholder: 'name:foo enabled:true', 'aria-label': 'Filter rulesets' });
  const order = h('select', { 'aria-label': 'Order' },
    ...['modification_date-', 'modification_date+', 'name+', 'name-', 'creation_date-'].map((o) => h('option', { value: o }, o)));
  const list = h('div', { class: 'list' });
  const error = h('p', { class: 'error', role: 'alert' });
  const load = async () => {
    error.textContent = '';
    const q = new URLSearchParams({ limit: '40', order: order.value, relationships: 'owner' });
    if (filter.value.trim()) q.set('filter', filter.value.trim());
    try {
      const rows = ((await api.get(`${BASE}?${q}`)).data as Ruleset[]);
      const me = currentSession()?.username;
      replace(list, rows.length === 0 ? h('p', { class: 'muted' }, 'No rulesets yet.') : h('table', {},
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Rules'), h('th', {}, 'Enabled'), h('th', {}, 'Daily limit'), h('th', {}, 'Owner'), h('th', {}, 'Modified'))),
        h('tbody', {}, ...rows.map((r) => h('tr', {},
          h('td', {}, link(`/livehunt/${r.id}`, r.attributes.name)),
          h('td', {}, r.attributes.number_of_rules),
          h('td', {}, r.attributes.enabled ? 'yes' : 'no'),
          h('td', {}, r.attributes.limit),
          h('td', {}, r.relationships?.owner?.data?.id === me ? 'you' : (r.relationships?.owner?.data?.id ?? '—')),
          h('td', {}, fmtDate(r.attributes.modification_date)))))));
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };
  filter.addEventListener('change', load);
  order.addEventListener('change', load);
  replace(main,
    h('div', { class: 'title-row' }, h('h1', {}, 'Livehunt'), link('/livehunt/new', 'New ruleset')),
    h('div', { class: 'toolbar' }, filter, order), error, list);
  await load();
}

const TEMPLATE = `rule my_rule {
  meta:
    description = "what this finds"
  strings:
    $a = "text to find"
  condition:
    $a
}
`;

/** What the page shows after it was reloaded by saving a new ruleset (it then has its id in the URL). */
let flash = '';

export async function rulesetPage(main: HTMLElement, id: string): Promise<void> {
  const isNew = id === 'new';
  const r: Ruleset = isNew
    ? { id: '', attributes: { name: '', rules: TEMPLATE, enabled: false, limit: 100, notification_emails: [], modification_date: 0, number_of_rules: 0 } }
    : (await api.get(`${BASE}/${id}?relationships=owner`)).data;
  let rules = r.attributes.rules;
  const name = h('input', { id: 'name', value: r.attributes.name, required: true, maxlength: '256' });
  const enabled = h('input', { id: 'enabled', type: 'checkbox', checked: r.attributes.enabled });
  const limit = h('input', { id: 'limit', type: 'number', min: '0', value: String(r.attributes.limit) });
  const emails = h('input', { id: 'emails', value: r.attributes.notification_emails.join(', '), placeholder: 'me@example.org, team@example.org' });
  const status = h('p', { class: 'validation', role: 'status', 'aria-live': 'polite' });
  const problems = h('ul', { class: 'problems', id: 'problems' });
  const message = h('p', { role: 'alert', class: flash ? 'ok' : '' }, flash);
  flash = '';
  const editorBox = h('div', { class: 'editor' });
  const showResult = (v: ValidationResult) => {
    const errors = v.diagnostics.filter((d) => d.severity === 'error');
    status.className = `validation ${errors.length ? 'bad' : 'good'}`;
    status.textContent = errors.length ? `${errors.length} error${errors.length > 1 ? 's' : ''}` : `Valid: ${v.rule_names.join(', ')}`;
    replace(problems, ...v.diagnostics.map((d) => h('li', { class: d.severity }, `line ${d.line}, column ${d.column}: `, d.message.split('\n')[0]!.replace(/^line \d+, column \d+: /, ''))));
  };
  const save = async (e: Event) => {
    e.preventDefault();
    message.textContent = '';
    message.className = '';
    const attributes = {
      name: name.value.trim(),
      rules,
      enabled: enabled.checked,
      limit: Number(limit.value),
      notification_emails: emails.value.split(/[\s,;]+/).filter(Boolean),
    };
    try {
      const saved = isNew
        ? (await api.post(BASE, { data: { type: 'hunting_ruleset', attributes } })).data
        : (await api.patch(`${BASE}/${id}`, { data: { type: 'hunting_ruleset', id, attributes } })).data;
      message.className = 'ok';
      message.textContent = `Saved${saved.attributes.enabled ? ' and enabled' : ''}.`;
      if (isNew) {
        flash = message.textContent;
        navigate(`/livehunt/${saved.id}`, true);
      }
    } catch (err) {
      message.className = 'error';
      message.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    }
  };
  replace(main,
    h('div', { class: 'title-row' }, h('h1', {}, isNew ? 'New ruleset' : r.attributes.name), link('/livehunt', 'All rulesets')),
    h('form', { class: 'ruleset', onsubmit: save as EventListener },
      h('div', { class: 'fields' },
        h('label', { for: 'name' }, 'Name'), name,
        h('label', { for: 'limit' }, 'Daily limit'), limit,
        h('label', { for: 'emails' }, 'Notification e-mails'), emails,
        h('label', { class: 'check' }, enabled, ' Enabled (match every new file)')),
      h('p', { class: 'muted' }, 'Rules (Esc then Tab leaves the editor):'),
      editorBox, status, problems,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save'),
        !isNew && link(`/notifications?filter=${encodeURIComponent(`source_id:${id}`)}`, 'Its notifications')),
      message));
  if (!isNew) {
    main.append(await activity(id));
    if (r.relationships?.owner?.data?.id === currentSession()?.username) main.append(await sharing(id));
  }
  // CodeMirror is most of the app's bytes: loaded with the first editor, not with the first page.
  const { yaraEditor } = await import('../yara-editor.js');
  yaraEditor(editorBox, rules, (text) => (rules = text), showResult);
}

const DAYS = 14;

/** Notifications of the ruleset per day over the last two weeks (IoC Stream counts), as bars. */
async function activity(id: string): Promise<HTMLElement> {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());
  const days = Array.from({ length: DAYS }, (_, i) => new Date(today - (DAYS - 1 - i) * 86_400_000).toISOString().slice(0, 10));
  const counts = await Promise.all(days.map(async (d) =>
    Number((await api.get(`/api/v3/ioc_stream?limit=1&count_limit=10000&filter=${encodeURIComponent(`source_id:${id} date:${d}`)}`)).meta?.count ?? 0)));
  const max = Math.max(1, ...counts);
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', `0 0 ${DAYS * 20} 64`);
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Notifications per day: ${days.map((d, i) => `${d}: ${counts[i]}`).join(', ')}`);
  counts.forEach((c, i) => {
    const height = Math.round((c / max) * 56);
    const bar = document.createElementNS(ns, 'rect');
    bar.setAttribute('x', String(i * 20 + 3));
    bar.setAttribute('y', String(60 - height));
    bar.setAttribute('width', '14');
    bar.setAttribute('height', String(Math.max(height, c > 0 ? 2 : 1)));
    const title = document.createElementNS(ns, 'title');
    title.textContent = `${days[i]}: ${c}`;
    bar.append(title);
    svg.append(bar);
  });
  const total = counts.reduce((a, b) => a + b, 0);
  return h('section', { class: 'activity' }, h('h2', {}, 'Notifications, last 14 days'), svg as unknown as Node,
    h('p', { class: 'muted' }, `${total.toLocaleString()}${counts.some((c) => c >= 10_000) ? '+' : ''} in all; today ${counts[DAYS - 1]}`));
}

/** The owner's sharing controls: editors (users or groups) added and removed, ownership given away. */
async function sharing(id: string): Promise<HTMLElement> {
  const rel = `${BASE}/${id}/relationships`;
  const box = h('section', { class: 'sharing' });
  const message = h('p', { role: 'alert' });
  const failed = (e: unknown) => {
    message.className = 'error';
    message.textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
  };
  const draw = async () => {
    const editors = (await api.get(`${rel}/editors`)).data as { type: string; id: string }[];
    const who = h('input', { id: 'editor', placeholder: 'username, or group:name', 'aria-label': 'Editor to add' });
    const owner = h('input', { id: 'new-owner', placeholder: 'username', 'aria-label': 'New owner' });
    replace(box, h('h2', {}, 'Sharing'),
      editors.length ? h('ul', {}, ...editors.map((e) => {
        const remove = h('button', { type: 'button', class: 'secondary' }, 'Remove');
        remove.addEventListener('click', async () => {
          try {
            await api.delete(`${rel}/editors/${encodeURIComponent(e.id)}`);
            await draw();
          } catch (err) {
            failed(err);
          }
        });
        return h('li', {}, `${e.type === 'group' ? 'group ' : ''}${e.id} `, remove);
      })) : h('p', { class: 'muted' }, 'Only you edit this ruleset.'),
      h('form', { class: 'toolbar', onsubmit: (async (ev: Event) => {
        ev.preventDefault();
        const v = who.value.trim();
        const item = v.startsWith('group:') ? { type: 'group', id: v.slice(6) } : { type: 'user', id: v };
        try {
          await api.post(`${rel}/editors`, { data: [item] });
          await draw();
        } catch (err) {
          failed(err);
        }
      }) as EventListener }, who, h('button', { type: 'submit' }, 'Add editor')),
      h('form', { class: 'toolbar', onsubmit: (async (ev: Event) => {
        ev.preventDefault();
        if (!confirm(`Give this ruleset to ${owner.value.trim()}? You will no longer own it.`)) return;
        try {
          await api.post(`${rel}/owner`, { data: { type: 'user', id: owner.value.trim() } });
          navigate('/livehunt');
        } catch (err) {
          failed(err);
        }
      }) as EventListener }, owner, h('button', { type: 'submit', class: 'secondary' }, 'Transfer ownership')),
      message);
  };
  await draw();
  return box;
}
