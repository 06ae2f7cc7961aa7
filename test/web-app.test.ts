// The web app in Debian's Chromium, headless, against a real Trawl: a hunter signs in, writes a
// ruleset with an error and sees it inline, fixes and enables it, uploads a zip whose member
// matches, watches the notification arrive live, opens its snippet, walks to the member, deletes
// the notification; a second user sees none of it; sign out. Each page's screenshot is written
// to docs/screenshots/ (shown in the README) when TRAWL_SCREENSHOTS=1.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { WEB_APP_DIR } from '../src/api/routes/web-app.js';
import { makeZip } from './helpers/archives.js';
import { systemChromium } from './helpers/browser.js';
import { api, fileForm, newUser, pollUntil, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const browserPath = systemChromium();
const built = existsSync(new URL('index.html', WEB_APP_DIR));
const skip = !browserPath ? 'Chromium is not installed (apt-get install chromium)' : !built ? 'the web app is not built (make build)' : false;
if (skip) console.error(`NOTE: the web app's browser test is SKIPPED: ${skip}`);

// Screenshots go to docs/screenshots/ only when asked (TRAWL_SCREENSHOTS=1 make test): a plain
// test run must leave the checkout as it found it. Otherwise they are still taken (a page that
// cannot render fails), into a folder of their own.
const SHOTS = process.env.TRAWL_SCREENSHOTS
  ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
  : `${mkdtempSync(join(tmpdir(), 'trawl-web-shots-'))}/`;
const MARKER = 'TRAWL-WEB-MARKER-7f3a';
const T = { timeout: 20_000 };

describe('web app in a browser', { skip }, () => {
  let s: TestService;
  let browser: Browser;
  let alice: string;
  let mallory: string;
  before(async () => {
    s = await startTestService();
    [alice, mallory] = [await newUser(s, 'alice'), await newUser(s, 'mallory')];
    await newUser(s, 'ed');
    browser = await chromium.launch({ executablePath: browserPath!, args: ['--no-sandbox'] });
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await s?.stop();
    if (!process.env.TRAWL_SCREENSHOTS) rmSync(SHOTS, { recursive: true, force: true });
  });

  const shot = (page: Page, name: string, fullPage = false) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage });
  /** A fresh browser profile (its own cookies), signed in with `key`. */
  async function signedIn(key: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await browser.newContext({ viewport, colorScheme: 'light' });
    const page = await context.newPage();
    page.on('pageerror', (e) => assert.fail(`page error: ${e.message}`));
    await page.goto(`${s.url}/`);
    await page.waitForSelector('#apikey', T);
    await page.fill('#apikey', key);
    await page.keyboard.press('Enter');
    await page.waitForSelector('h1:text-is("Livehunt")', T);
    return page;
  }
  /** Replaces the editor's text as a person typing would (the editor sees input events). */
  async function setRules(page: Page, text: string) {
    await page.click('.cm-content');
    await page.keyboard.press('Control+a');
    await page.keyboard.insertText(text);
  }

  it('walks from a new ruleset to a live notification, its snippet and the member that matched', async () => {
    // Sign in (the sign-in page first, as a newcomer sees it).
    const first = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    await first.goto(`${s.url}/livehunt`);
    await first.waitForSelector('#apikey', T);
    await shot(first, 'sign-in');
    await first.fill('#apikey', '0'.repeat(64));
    await first.keyboard.press('Enter');
    await first.waitForSelector('.sign-in .error:has-text("Wrong API key")', T);
    await first.context().close();

    const page = await signedIn(alice);
    // The key is nowhere in the page's storage; the cookie is HttpOnly.
    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    assert.ok(!stored.includes(alice), stored);
    const [cookie] = await page.context().cookies();
    assert.equal(cookie?.httpOnly, true);
    assert.equal(cookie?.sameSite, 'Strict');

    // A ruleset with an error, shown inline at its line while typing.
    await page.click('text=New ruleset');
    await page.waitForSelector('.cm-content', T);
    await page.fill('#name', 'web hunt');
    await setRules(page, `rule web_marker {\n  strings:\n    $a = "${MARKER}"\n  condition:\n    $a and no_such_thing\n}\n`);
    await page.waitForSelector('.validation.bad', T);
    assert.match(await page.textContent('#problems') ?? '', /line 5, column \d+: error\[E009\]: unknown identifier `no_such_thing`/);
    await page.waitForSelector('.cm-lintRange-error', T);
    assert.equal(await page.textContent('.cm-lintRange-error'), 'no_such_thing');
    await shot(page, 'livehunt-editor-error');

    // Fixed, enabled, saved.
    await setRules(page, `rule web_marker {\n  strings:\n    $a = "${MARKER}"\n  condition:\n    $a\n}\n`);
    await page.waitForSelector('.validation.good', T);
    await page.check('#enabled');
    await page.fill('#limit', '50');
    await page.click('button:text-is("Save")');
    await page.waitForSelector('text=Saved and enabled.', T);
    await shot(page, 'livehunt-editor');
    const rulesets = (await api(s.url, alice, 'GET', '/api/v3/intelligence/hunting_rulesets')).body.data;
    assert.deepEqual(rulesets.map((r: any) => [r.attributes.name, r.attributes.enabled, r.attributes.limit]), [['web hunt', true, 50]]);
    await page.click('a:text-is("All rulesets")');
    await page.waitForSelector('td a:text-is("web hunt")', T);
    await shot(page, 'livehunt');

    // The notifications page, following the live feed.
    await page.click('nav a:text-is("Notifications")');
    await page.waitForSelector('#live-state:text-is("live")', T);

    // Upload a zip whose member matches, from the upload page of a second tab.
    const tab = await page.context().newPage();
    await tab.goto(`${s.url}/upload`);
    await tab.waitForSelector('.dropzone', T);
    const inner = makeZip({ 'payload/dropper.txt': `header bytes ${MARKER} trailer bytes\n`, 'payload/notes.txt': 'nothing\n' });
    const zip = makeZip({ 'docs/readme.txt': 'nothing to see here\n', 'inner.zip': inner });
    await tab.setInputFiles('#files', { name: 'bundle.zip', mimeType: 'application/zip', buffer: zip });
    await tab.waitForSelector('.uploads a:text-is("analysed: open")', T);
    await shot(tab, 'upload');

    // It arrives live on the first tab, without a reload.
    await page.bringToFront();
    await page.waitForSelector('article.notification', T);
    assert.match(await page.textContent('article.notification') ?? '', /web_marker[\s\S]*in a bundled file/);
    await page.click('article.notification summary');
    await page.waitForSelector('article.notification pre.hexdump mark', T);
    // One match over three lines: each line marks its hex bytes, then the same bytes as ASCII.
    const marks = await page.$$eval('pre.hexdump mark', (ms) => ms.map((m) => m.textContent ?? ''));
    const hex = marks.filter((_, i) => i % 2 === 0).join(' ');
    assert.equal(Buffer.from(hex.replace(/\s+/g, ''), 'hex').toString(), MARKER, marks.join('|'));
    assert.equal(marks.filter((_, i) => i % 2 === 1).join(''), MARKER);
    await shot(page, 'notifications');

    // The ruleset's page counts it today, and its owner shares it with an editor and takes it back.
    await tab.goto(`${s.url}/livehunt/${rulesets[0].id}`);
    const today = new Date().toISOString().slice(0, 10);
    await tab.waitForSelector(`svg.chart[aria-label*="${today}: 1"]`, T);
    await tab.fill('#editor', 'ed');
    await tab.click('button:text-is("Add editor")');
    await tab.waitForSelector('.sharing li:has-text("ed")', T);
    assert.equal((await api(s.url, alice, 'GET', `/api/v3/intelligence/hunting_rulesets/${rulesets[0].id}/relationships/editors/ed`)).body.data, true);
    await tab.waitForSelector('.validation.good', T);
    await shot(tab, 'livehunt-ruleset', true);
    await tab.click('.sharing li:has-text("ed") button:text-is("Remove")');
    await tab.waitForSelector('.sharing p:text-is("Only you edit this ruleset.")', T);
    await tab.close();

    // A second user sees none of it.
    const other = await signedIn(mallory);
    assert.equal(await other.textContent('.list'), 'No rulesets yet.');
    await other.click('nav a:text-is("Notifications")');
    await other.waitForSelector('.stream .empty', T);
    assert.equal(await other.$$eval('article.notification', (a) => a.length), 0);

    // Open the file: the tree opens the inner zip by itself and marks the member that matched.
    await page.click('article.notification a[href^="/files/"]');
    await page.waitForSelector('.facts', T);
    await page.waitForSelector('li.matched .badge.match', T);
    assert.match(await page.textContent('li.matched summary') ?? '', /dropper\.txt/);
    assert.match(await page.textContent('.tree li:has(> details[open]) > details > summary') ?? '', /inner\.zip.*contains the match/);
    assert.equal(await page.$$eval('li.matched', (l) => l.length), 1);
    await shot(page, 'file');
    const member = await page.getAttribute('li.matched', 'data-sha256');
    await page.click('li.matched > details > summary a');
    await page.waitForSelector(`.facts code:text-is("${member}")`, T);
    assert.match(await page.textContent('.facts') ?? '', /dropper\.txt/);
    // The other user's view of the same file shows none of alice's notifications.
    await other.goto(`${s.url}${new URL(page.url()).pathname}`);
    await other.waitForSelector('.facts', T);
    await other.goBack();

    // Back to the notification: select it and delete it.
    await page.goBack();
    await page.goBack();
    await page.waitForSelector('article.notification input[type=checkbox]', T);
    await page.check('article.notification input[type=checkbox]');
    await page.click('button:has-text("Delete selected")');
    await page.waitForSelector('article.notification', { state: 'detached', ...T });
    await pollUntil('the notification deleted', () => api(s.url, alice, 'GET', '/api/v3/ioc_stream'), (r) => r.body.data?.length === 0, 10_000);

    // Two more, deleted by filter (the rule name is a suggestion of the filter box) in the background.
    for (const n of [1, 2]) {
      const up = await api(s.url, alice, 'POST', '/api/v3/files', fileForm(`again ${n} ${MARKER}`, `again-${n}.txt`));
      await waitForAnalysis(s.url, alice, up.body.data.id);
    }
    await page.waitForFunction(() => document.querySelectorAll('article.notification').length === 2, undefined, T);
    assert.ok(await page.$('#filter-suggestions option[value="tag:web_marker"]'));
    await page.fill('#stream-filter', 'tag:web_marker');
    await page.press('#stream-filter', 'Enter');
    page.once('dialog', (d) => void d.accept());
    await page.click('button:text-is("Delete all matching the filter")');
    await page.waitForSelector('.stream .empty', T);
    assert.equal((await api(s.url, alice, 'GET', '/api/v3/ioc_stream')).body.data.length, 0);

    // Retrohunt: the same rule over the stored files, followed to its end, with its match.
    await page.click('nav a:text-is("Retrohunt")');
    await page.waitForSelector('.cm-content', T);
    await setRules(page, `rule retro_marker {\n  strings:\n    $a = "${MARKER}"\n  condition:\n    $a\n}\n`);
    await page.click('button:text-is("Start")');
    await page.waitForSelector('h1:has-text("Retrohunt job")', T);
    await page.waitForSelector('.facts dd:text-is("finished")', { timeout: 60_000 });
    await page.waitForSelector('article.notification:has-text("retro_marker") pre.hexdump mark', { state: 'attached', ...T });
    await page.click('article.notification summary');
    await shot(page, 'retrohunt');
    await page.click('a:text-is("All jobs")');
    await page.waitForSelector('td:text-is("finished")', T);

    // Admin: only administrators have the page; a new user's key is shown once.
    assert.equal(await page.$$eval('nav a:text-is("Admin")', (a) => a.length), 0);
    const admin = await signedIn(s.adminKey);
    await admin.click('nav a:text-is("Admin")');
    await admin.waitForSelector('td:text-is("mallory")', T);
    await admin.fill('#new-user', 'zed');
    await admin.click('button:text-is("Add user")');
    await admin.waitForSelector('code.key', T);
    const zedKey = await admin.textContent('code.key');
    assert.equal((await api(s.url, zedKey!, 'GET', '/api/v3/users/zed')).status, 200);
    await admin.waitForSelector('td:text-is("zed")', T);
    await shot(admin, 'admin');
    await admin.context().close();

    // The phone and the dark theme.
    const phone = await signedIn(alice, { width: 390, height: 844 });
    await phone.emulateMedia({ colorScheme: 'dark' });
    await phone.goto(`${s.url}/livehunt/${rulesets[0].id}`);
    await phone.waitForSelector('.validation.good', T);
    await shot(phone, 'phone-dark-editor');
    await phone.context().close();

    // Sign out: the cookie is gone, the API refuses the page.
    await page.click('button:text-is("Sign out")');
    await page.waitForSelector('#apikey', T);
    const status = await page.evaluate(async () => (await fetch('/api/v3/intelligence/hunting_rulesets')).status);
    assert.equal(status, 401);
    await other.context().close();
    await page.context().close();
  });
});
