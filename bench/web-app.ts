// The web app's first load on loopback with a cold cache, in Debian's Chromium (playwright-core):
// each run is a new browser context (empty cache), timed from navigation until the page is usable
// (the sign-in form; signed in, the Livehunt list). And the bundle's size: every script and style
// the page loads, gzipped as the server sends them. Env: BENCH_WEB_RUNS (15).
import { chromium } from 'playwright-core';
import { pct, startServer, table } from './lib/lib.js';
import { systemChromium } from '../test/helpers/browser.js';

const RUNS = Number(process.env.BENCH_WEB_RUNS ?? 15);

async function main(): Promise<void> {
  const exe = systemChromium();
  if (!exe) throw new Error('Chromium is not installed (apt-get install chromium)');
  const s = await startServer();
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  try {
    /** The scripts and styles a page loads, with their gzipped sizes as sent and unpacked. */
    const sizes = async (paths: string[]) => {
      let gz = 0;
      let raw = 0;
      for (const a of paths) {
        const r = await fetch(`${s.url}${a}`, { headers: { 'accept-encoding': 'gzip' } });
        gz += Number(r.headers.get('content-length'));
        raw += (await r.arrayBuffer()).byteLength; // fetch decodes: the size unpacked
      }
      return { gz, raw };
    };
    // A session cookie for the signed-in runs.
    const signIn = await fetch(`${s.url}/ui/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apikey: s.key }) });
    const cookie = /^trawl_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
    if (!cookie) throw new Error('could not sign in');

    const loaded = new Map<string, Set<string>>();
    const time = async (path: string, ready: string, signedIn: boolean): Promise<{ wall: number; load: number }> => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      if (signedIn) await context.addCookies([{ name: 'trawl_session', value: cookie, url: s.url, httpOnly: true, sameSite: 'Strict' }]);
      const page = await context.newPage();
      const assets = loaded.get(path) ?? new Set<string>();
      loaded.set(path, assets);
      page.on('request', (r) => r.url().includes('/assets/') && assets.add(new URL(r.url()).pathname));
      const started = performance.now();
      await page.goto(`${s.url}${path}`);
      await page.waitForSelector(ready);
      const wall = performance.now() - started;
      const load = await page.evaluate(() => (performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming).loadEventEnd);
      await context.close();
      return { wall, load };
    };
    await time('/', '#apikey', false); // the browser process itself warmed (not the page's cache)
    const rows: (string | number)[][] = [['page', 'runs', 'usable p50 ms', 'usable max ms', 'load event p50 ms']];
    const pages = [
      ['sign-in page', '/', '#apikey', false],
      ['Livehunt, signed in', '/livehunt', 'h1:text-is("Livehunt")', true],
      ['ruleset editor, signed in', '/livehunt/new', '.cm-content', true],
    ] as const;
    for (const [label, path, ready, signedIn] of pages) {
      const runs = [];
      for (let i = 0; i < RUNS; i++) runs.push(await time(path, ready, signedIn));
      const wall = Float64Array.from(runs.map((r) => r.wall)).sort();
      const load = Float64Array.from(runs.map((r) => r.load)).sort();
      rows.push([label, RUNS, pct(wall, 50), wall[wall.length - 1]!, pct(load, 50)]);
    }
    table('Web app: first load, cold cache (new browser context per run), loopback', rows);
    const sized = [];
    for (const [label, path] of pages) sized.push([label, [...loaded.get(path)!].join(' '), ...Object.values(await sizes([...loaded.get(path)!]))]);
    table('Web app: scripts and styles each page loads', [['page', 'assets', 'gzipped bytes', 'bytes'], ...sized]);
    console.log('\ntarget: first load < 1000 ms; all scripts and styles < 300 KB gzipped');
  } finally {
    await browser.close();
    await s.stop();
  }
}

await main();
