// Sign in with an API key: the key goes to /ui/session once and the browser keeps only the
// HttpOnly cookie it gets back; the key is never written to page storage.
import { signIn } from '../api.js';
import { h } from '../dom.js';

export function signInPage(main: HTMLElement, done: () => void): void {
  const key = h('input', { id: 'apikey', name: 'apikey', type: 'password', autocomplete: 'current-password', required: true, spellcheck: false });
  const error = h('p', { class: 'error', role: 'alert' });
  const form = h('form', {
    class: 'card sign-in',
    onsubmit: (async (e: Event) => {
      e.preventDefault();
      error.textContent = '';
      try {
        await signIn(key.value);
        key.value = '';
        done();
      } catch (err) {
        error.textContent = (err as Error).message;
      }
    }) as EventListener,
  },
  h('h1', {}, 'Trawl'),
  h('p', {}, 'Sign in with your API key (', h('code', {}, 'trawl user add'), ' prints it).'),
  h('label', { for: 'apikey' }, 'API key'), key,
  h('button', { type: 'submit' }, 'Sign in'),
  error);
  main.append(form);
  key.focus();
}
