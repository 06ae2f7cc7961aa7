// The web app's shell: who is signed in, the navigation, and a router over the History API. Each
// page is a function that fills the main element and may return a cleanup (closing a live feed).
import { currentSession, loadSession, signOut } from './api.js';
import { h, replace } from './dom.js';
import { signInPage } from './pages/sign-in.js';
import { livehuntPage, rulesetPage } from './pages/livehunt.js';
import { streamPage } from './pages/stream.js';
import { filePage } from './pages/file.js';
import { uploadPage } from './pages/upload.js';
import { retrohuntJobPage, retrohuntPage } from './pages/retrohunt.js';
import { adminPage } from './pages/admin.js';

export type Cleanup = (() => void) | void;
type Page = (main: HTMLElement, ...params: string[]) => Cleanup | Promise<Cleanup>;

const ROUTES: [RegExp, Page, string][] = [
  [/^\/livehunt\/?$/, livehuntPage, 'Livehunt'],
  [/^\/livehunt\/(new|\d+)$/, rulesetPage, 'Livehunt'],
  [/^\/notifications\/?$/, streamPage, 'Notifications'],
  [/^\/files\/([0-9a-fA-F]{32,64})$/, filePage, 'File'],
  [/^\/upload\/?$/, uploadPage, 'Upload'],
  [/^\/retrohunt\/?$/, retrohuntPage, 'Retrohunt'],
  [/^\/retrohunt\/([\w-]+)$/, retrohuntJobPage, 'Retrohunt'],
  [/^\/admin\/?$/, adminPage, 'Admin'],
];
const NAV: [string, string][] = [['/livehunt', 'Livehunt'], ['/notifications', 'Notifications'], ['/upload', 'Upload'], ['/retrohunt', 'Retrohunt']];

let cleanup: Cleanup;

/** Goes to `path` inside the app (links call it, so the page is not reloaded). */
export function navigate(path: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

/** A link the router follows (a modified click still opens a new tab). */
export function link(path: string, ...children: (Node | string)[]): HTMLAnchorElement {
  return h('a', {
    href: path,
    onclick: ((e: MouseEvent) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      navigate(path);
    }) as EventListener,
  }, ...children);
}

async function render(): Promise<void> {
  if (typeof cleanup === 'function') cleanup();
  cleanup = undefined;
  const root = document.getElementById('app')!;
  const path = location.pathname;
  const session = currentSession();
  const main = h('main', { id: 'main', tabindex: '-1' });
  if (!session) {
    replace(root, main);
    document.title = 'Sign in · Trawl';
    cleanup = signInPage(main, () => navigate(path === '/' || path === '/sign-in' ? '/livehunt' : path, true));
    return;
  }
  if (path === '/' || path === '/sign-in') return navigate('/livehunt', true);
  const route = ROUTES.find(([re]) => re.test(path));
  const header = h('header', { class: 'top' },
    h('a', { class: 'skip', href: '#main' }, 'Skip to content'),
    h('strong', { class: 'brand' }, 'Trawl'),
    h('nav', { 'aria-label': 'Main' }, ...[...NAV, ...(session.is_admin ? [['/admin', 'Admin'] as [string, string]] : [])].map(([p, label]) => {
      const a = link(p, label);
      if (path.startsWith(p)) a.setAttribute('aria-current', 'page');
      return a;
    })),
    h('span', { class: 'user' }, session.username),
    h('button', { type: 'button', onclick: async () => { await signOut(); await render(); } }, 'Sign out'),
  );
  replace(root, header, main);
  if (!route) {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', link('/livehunt', 'Go to Livehunt')));
    return;
  }
  document.title = `${route[2]} · Trawl`;
  const params = route[0].exec(path)!.slice(1);
  cleanup = await route[1](main, ...params);
}

window.addEventListener('popstate', () => void render());
window.addEventListener('trawl:signed-out', () => void render());
await loadSession();
await render();
