// The web app's Notifications page scrolled through BENCH_WEB_SCROLL_ITEMS (10,000) notifications,
// paged (40 at a time, loaded as the end comes into view) from a store of
// BENCH_WEB_STREAM_NOTIFICATIONS (10,000,000) generated ones (SQLite), in Debian's Chromium.
// Frames are timed in the page: every requestAnimationFrame interval, and Chromium's Long Animation
// Frames (frames over 50 ms, with their script and layout work) while the mouse wheel scrolls.
import { chromium } from 'playwright-core';
import { pct, table } from './lib/lib.js';
import { serverWithNotifications } from './corpora/notification-corpus.js';
import { systemChromium } from '../test/helpers/browser.js';

const N = Number(process.env.BENCH_WEB_STREAM_NOTIFICATIONS ?? 10_000_000);
const ITEMS = Number(process.env.BENCH_WEB_SCROLL_ITEMS ?? 10_000);

async function main(): Promise<void> {
  const exe = systemChromium();
  if (!exe) throw new Error('Chromium is not installed (apt-get install chromium)');
  const s = await serverWithNotifications('sqlite', N);
  const browser = await chromium.launch({ executablePath: exe, args: ['--no-sandbox'] });
  try {
    const signIn = await fetch(`${s.url}/ui/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apikey: s.key }) });
    const cookie = /^trawl_session=([^;]+)/.exec(signIn.headers.get('set-cookie') ?? '')?.[1];
    if (!cookie) throw new Error('could not sign in');
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addCookies([{ name: 'trawl_session', value: cookie, url: s.url, httpOnly: true, sameSite: 'Strict' }]);
    const page = await context.newPage();
    await page.goto(`${s.url}/notifications`);
    await page.waitForSelector('article.notification');
    await page.evaluate(() => {
      const w = window as unknown as { frames_: number[]; loaf_: number[] };
      w.frames_ = [];
      w.loaf_ = [];
      let last = performance.now();
      const tick = (t: number) => {
        w.frames_.push(t - last);
        last = t;
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      new PerformanceObserver((l) => l.getEntries().forEach((e) => w.loaf_.push(e.duration))).observe({ type: 'long-animation-frame' });
    });
    await page.mouse.move(640, 400);
    const started = performance.now();
    let items = 0;
    let wheels = 0;
    while (items < ITEMS && performance.now() - started < 600_000) {
      await page.mouse.wheel(0, 1200);
      await page.waitForTimeout(16);
      // Cheap to ask (a count of containers of at most 10 rows, not of thousands of rows).
      if (++wheels % 10 === 0) items = await page.evaluate(() => document.querySelectorAll('.stream .page').length * 10);
    }
    const seconds = (performance.now() - started) / 1000;
    items = await page.evaluate(() => document.querySelectorAll('article.notification').length);
    const { frames, loaf } = await page.evaluate(() => {
      const w = window as unknown as { frames_: number[]; loaf_: number[] };
      return { frames: w.frames_.slice(1), loaf: w.loaf_ };
    });
    const f = Float64Array.from(frames).sort();
    table(`Web app: Notifications scrolled to ${items} items (pages of 40) from ${N.toLocaleString()} stored, in ${seconds.toFixed(1)} s`, [
      ['frames', 'p50 ms', 'p99 ms', 'max ms', 'frames > 50 ms', 'long animation frames (> 50 ms)', 'longest LoAF ms'],
      [f.length, pct(f, 50), pct(f, 99), f[f.length - 1] ?? 0, frames.filter((d) => d > 50).length, loaf.length, Math.max(0, ...loaf)],
    ]);
    console.log('\ntarget: no frame longer than 50 ms');
  } finally {
    await browser.close();
    await s.stop();
  }
}

await main();
