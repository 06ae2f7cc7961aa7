// Admin (administrators only): the users, a new user with its key shown once, a user's key
// rotated (shown once) and the user disabled or enabled again.
import { api, ApiError, currentSession } from '../api.js';
import { fmtDate, h, replace } from '../dom.js';

interface User {
  id: string;
  attributes: { status: string; user_since: number; email?: string; privileges?: { admin?: { granted: boolean } } };
}

export async function adminPage(main: HTMLElement): Promise<void> {
  const list = h('div', { class: 'list' });
  const message = h('p', { role: 'alert' });
  const name = h('input', { id: 'new-user', required: true, pattern: '[A-Za-z0-9_.-]+', 'aria-label': 'Username' });
  const admin = h('input', { type: 'checkbox', id: 'new-admin' });
  const shown = (text: string, key: string) => {
    message.className = 'ok';
    replace(message, text, ' ', h('code', { class: 'key' }, key), ' (shown once: copy it now)');
  };
  const failed = (err: unknown) => {
    message.className = 'error';
    message.textContent = err instanceof ApiError ? `${err.code}: ${err.message}` : String(err);
  };
  const load = async () => {
    const users = (await api.get('/api/v3/users?limit=100')).data as User[];
    replace(list, h('table', {},
      h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Status'), h('th', {}, 'Admin'), h('th', {}, 'Since'), h('th', {}, 'Actions'))),
      h('tbody', {}, ...users.map((u) => {
        const active = u.attributes.status === 'active';
        const toggle = h('button', { type: 'button', class: 'secondary' }, active ? 'Disable' : 'Enable');
        toggle.addEventListener('click', async () => {
          try {
            await api.patch(`/api/v3/users/${u.id}`, { data: { type: 'user', attributes: { status: active ? 'disabled' : 'active' } } });
            await load();
          } catch (e) {
            failed(e);
          }
        });
        const rotate = h('button', { type: 'button', class: 'secondary' }, 'Rotate key');
        rotate.addEventListener('click', async () => {
          if (!confirm(`Rotate ${u.id}'s API key? The old one stops working at once.`)) return;
          try {
            shown(`${u.id}'s new key:`, (await api.post(`/api/v3/users/${u.id}/apikey`)).data.attributes.apikey);
          } catch (e) {
            failed(e);
          }
        });
        return h('tr', {}, h('td', {}, u.id), h('td', {}, u.attributes.status), h('td', {}, u.attributes.privileges?.admin?.granted ? 'yes' : 'no'),
          // Administrators cannot disable themselves (the API refuses it).
          h('td', {}, fmtDate(u.attributes.user_since)), h('td', {}, h('span', { class: 'buttons' }, u.id !== currentSession()?.username && toggle, rotate)));
      }))));
  };
  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const u = (await api.post('/api/v3/users', { data: { type: 'user', id: name.value.trim(), attributes: { admin: admin.checked } } })).data;
      shown(`${u.id}'s key:`, u.attributes.apikey);
      name.value = '';
      await load();
    } catch (err) {
      failed(err);
    }
  };
  replace(main, h('h1', {}, 'Admin'), message, list,
    h('h2', {}, 'New user'),
    h('form', { class: 'toolbar', onsubmit: create as EventListener }, name, h('label', { class: 'check' }, admin, ' administrator'), h('button', { type: 'submit' }, 'Add user')),
    h('p', { class: 'muted' }, 'Quotas, groups and community rulesets: ', h('code', {}, 'trawl user quota'), ', ', h('code', {}, 'trawl group'), ', ', h('code', {}, 'trawl rules import'), ' (docs/api.md).'));
  await load();
}
