// Retrohunt: the caller's jobs with their progress, a new job (rules, optional time range and
// e-mail), and one job's page: progress bar and ETA while it runs, abort, and its matches with
// their snippets.
import { api, ApiError } from '../api.js';
import { fmtDate, h, replace } from '../dom.js';
import { hexdump } from '../hexdump.js';
import { link, navigate } from '../main.js';

const BASE = '/api/v3/intelligence/retrohunt_jobs';

interface Job {
  id: string;
  attributes: {
    status: string; progress: number; eta_seconds?: number | null; num_matches: number; scanned_bytes: number;
    creation_date: number; start_date?: number; finish_date?: number; rules: string; corpus: string; trawl_abort_reason?: string;
  };
}

const running = (j: Job) => j.attributes.status === 'starting' || j.attributes.status === 'running' || j.attributes.status === 'aborting';
const eta = (s: number | null | undefined) => (s === null || s === undefined ? '' : s < 90 ? `${Math.round(s)} s left` : `${Math.round(s / 60)} min left`);
const progress = (j: Job) =>
  h('span', { class: 'progress' }, h('progress', { max: '100', value: String(j.attributes.progress), 'aria-label': `progress of job ${j.id}` }),
    ` ${j.attributes.progress.toFixed(1)} % `, running(j) ? h('span', { class: 'muted' }, eta(j.attributes.eta_seconds)) : null);

export async function retrohuntPage(main: HTMLElement): Promise<() => void> {
  const list = h('div', { class: 'list' });
  const message = h('p', { role: 'alert' });
  let rules = 'rule retro {\n  strings:\n    $a = "text to find"\n  condition:\n    $a\n}\n';
  const start = h('input', { id: 'start', type: 'date', 'aria-label': 'From date' });
  const end = h('input', { id: 'end', type: 'date', 'aria-label': 'To date' });
  const email = h('input', { id: 'email', type: 'email', placeholder: 'me@example.org' });
  const editorBox = h('div', { class: 'editor' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const load = async () => {
    const jobs = (await api.get(`${BASE}?limit=40`)).data as Job[];
    replace(list, jobs.length === 0 ? h('p', { class: 'muted' }, 'No Retrohunt jobs yet.') : h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'Job'), h('th', {}, 'Status'), h('th', {}, 'Progress'), h('th', {}, 'Matches'), h('th', {}, 'Created'))),
      h('tbody', {}, ...jobs.map((j) => h('tr', {},
        h('td', {}, link(`/retrohunt/${j.id}`, j.id)), h('td', {}, j.attributes.status), h('td', {}, progress(j)),
        h('td', {}, j.attributes.num_matches), h('td', {}, fmtDate(j.attributes.creation_date)))))));
    if (jobs.some(running)) timer = setTimeout(() => void load(), 1000);
  };
  const submit = async (e: Event) => {
    e.preventDefault();
    message.textContent = '';
    const attributes: Record<string, unknown> = { rules };
    // Dates are UTC days; an end date includes its whole day (as the CLI reads them).
    const range: Record<string, number> = {};
    if (start.value) range.start = Date.parse(`${start.value}T00:00:00Z`) / 1000;
    if (end.value) range.end = Date.parse(`${end.value}T23:59:59Z`) / 1000;
    if (Object.keys(range).length) attributes.time_range = range;
    if (email.value.trim()) attributes.notification_email = email.value.trim();
    try {
      const job = (await api.post(BASE, { data: { type: 'retrohunt_job', attributes } })).data as Job;
      navigate(`/retrohunt/${job.id}`);
    } catch (err) {
      message.className = 'error';
      message.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    }
  };
  replace(main,
    h('h1', {}, 'Retrohunt'), list,
    h('h2', {}, 'New job'),
    h('form', { onsubmit: submit as EventListener },
      h('div', { class: 'fields' },
        h('label', { for: 'start' }, 'Files first seen from'), start,
        h('label', { for: 'end' }, 'to'), end,
        h('label', { for: 'email' }, 'E-mail when done'), email),
      editorBox,
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Start')), message));
  const { yaraEditor } = await import('../yara-editor.js');
  yaraEditor(editorBox, rules, (t) => (rules = t));
  await load();
  return () => clearTimeout(timer);
}

export async function retrohuntJobPage(main: HTMLElement, id: string): Promise<() => void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const head = h('div');
  const matches = h('div', { class: 'stream' });
  const message = h('p', { role: 'alert' });
  const abort = h('button', { type: 'button', class: 'secondary' }, 'Abort');
  abort.addEventListener('click', async () => {
    await api.post(`${BASE}/${encodeURIComponent(id)}/abort`);
    void load();
  });
  const load = async (): Promise<void> => {
    try {
      const j = (await api.get(`${BASE}/${encodeURIComponent(id)}`)).data as Job;
      abort.hidden = !running(j);
      replace(head, h('dl', { class: 'facts' },
        h('dt', {}, 'Status'), h('dd', {}, j.attributes.status, j.attributes.trawl_abort_reason ? ` (${j.attributes.trawl_abort_reason})` : ''),
        h('dt', {}, 'Progress'), h('dd', {}, progress(j)),
        h('dt', {}, 'Scanned'), h('dd', {}, `${(j.attributes.scanned_bytes / 1048576).toFixed(1)} MB`),
        h('dt', {}, 'Matches'), h('dd', {}, j.attributes.num_matches),
        h('dt', {}, 'Corpus'), h('dd', {}, j.attributes.corpus),
        h('dt', {}, 'Started'), h('dd', {}, fmtDate(j.attributes.start_date)),
        h('dt', {}, 'Finished'), h('dd', {}, fmtDate(j.attributes.finish_date))),
      h('details', {}, h('summary', {}, 'Rules'), h('pre', { class: 'hexdump' }, j.attributes.rules)));
      const files = (await api.get(`${BASE}/${encodeURIComponent(id)}/matching_files?limit=40`)).data as {
        id: string; attributes: { meaningful_name?: string }; context_attributes: { rule_name: string; snippet: string; match_in_subfile: boolean };
      }[];
      replace(matches, files.length === 0 ? h('p', { class: 'muted' }, running(j) ? 'No matches yet.' : 'No matches.') : files.map((f) =>
        h('article', { class: 'notification' },
          h('div', { class: 'row' }, h('strong', {}, f.context_attributes.rule_name), f.context_attributes.match_in_subfile && h('span', { class: 'badge' }, 'in a bundled file')),
          h('div', { class: 'row' }, link(`/files/${f.id}`, h('code', {}, f.id)), h('span', { class: 'muted' }, f.attributes?.meaningful_name ?? '')),
          f.context_attributes.snippet ? h('details', {}, h('summary', {}, 'Snippet'), hexdump(f.context_attributes.snippet)) : null)));
      if (running(j)) timer = setTimeout(() => void load(), 1000);
    } catch (err) {
      message.className = 'error';
      message.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
    }
  };
  replace(main, h('div', { class: 'title-row' }, h('h1', {}, `Retrohunt job ${id}`), h('span', {}, abort, ' ', link('/retrohunt', 'All jobs'))), message, head, h('h2', {}, 'Matching files'), matches);
  await load();
  return () => clearTimeout(timer);
}
