// Upload: files and folders dropped (or chosen), each sent with its own progress bar, an optional
// password for encrypted archives, and each result linked to its File page once analysed.
import { api, upload } from '../api.js';
import { h, replace } from '../dom.js';
import { link } from '../main.js';

/** Every file of a dropped folder, read through the entries API. */
async function filesOf(entry: FileSystemEntry): Promise<File[]> {
  if (entry.isFile) return [await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej))];
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  const out: File[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) return out;
    for (const e of batch) out.push(...(await filesOf(e)));
  }
}

async function sha256Of(analysisId: string): Promise<string | undefined> {
  for (let i = 0; i < 120; i++) {
    const a = await api.get(`/api/v3/analyses/${analysisId}`);
    if (a.data.attributes.status === 'completed' || a.data.attributes.status === 'failed') return a.meta?.file_info?.sha256;
    await new Promise((r) => setTimeout(r, 500));
  }
  return undefined;
}

export function uploadPage(main: HTMLElement): void {
  const password = h('input', { id: 'password', type: 'text', autocomplete: 'off', placeholder: 'infected' });
  const picker = h('input', { id: 'files', type: 'file', multiple: true });
  const results = h('ul', { class: 'uploads' });
  const send = (files: File[]) => {
    for (const file of files) {
      const bar = h('progress', { max: '1', value: '0' });
      const state = h('span', { class: 'muted' }, 'uploading');
      results.append(h('li', {}, h('span', { class: 'name' }, file.name), bar, state));
      upload(file, password.value, (p) => (bar.value = p))
        .then(async (analysisId) => {
          bar.value = 1;
          state.textContent = 'analysing';
          const sha256 = await sha256Of(analysisId);
          replace(state, sha256 ? link(`/files/${sha256}`, 'analysed: open') : 'still analysing');
        })
        .catch((e: Error) => {
          state.className = 'error';
          state.textContent = e.message;
        });
    }
  };
  const zone = h('div', { class: 'dropzone', tabindex: '0', role: 'button', 'aria-label': 'Drop files or folders here, or press Enter to choose files' },
    'Drop files or folders here, or choose them');
  zone.addEventListener('click', () => picker.click());
  zone.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), picker.click()));
  zone.addEventListener('dragover', (e) => (e.preventDefault(), zone.classList.add('over')));
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', async (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const entries = [...(e.dataTransfer?.items ?? [])].map((i) => i.webkitGetAsEntry()).filter((x): x is FileSystemEntry => !!x);
    send(entries.length ? (await Promise.all(entries.map(filesOf))).flat() : [...(e.dataTransfer?.files ?? [])]);
  });
  picker.addEventListener('change', () => send([...(picker.files ?? [])]));
  replace(main,
    h('h1', {}, 'Upload'),
    h('div', { class: 'fields' }, h('label', { for: 'password' }, 'Archive password (optional)'), password),
    zone, h('label', { class: 'visually-hidden', for: 'files' }, 'Files'), picker, results);
}
