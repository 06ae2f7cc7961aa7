// Quotas over real HTTP (spec 7.3): 429 QuotaExceededError past each quota of a user and of their
// group, the windows passing (the clock moved with node:test's mock timers), the reports
// overall_quotas and api_usage in VirusTotal's shapes, and two API processes on one PostgreSQL
// database counting one user's requests together.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, mock } from 'node:test';
import { loadConfig } from '../src/config.js';
import { startService, type Service } from '../src/main.js';
import { dayKey, dayOf } from '../src/model/quotas.js';
import { api, fileForm, isVtError, newUser, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';
import { postgresBackend } from './helpers/store-contract.js';

const RULES = 'rule q { strings: $a = "quota-marker" condition: $a }';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const setQuotas = (s: TestService, who: string, quotas: Record<string, number | null>) =>
  api(s.url, s.adminKey, 'PATCH', `/api/v3/${who}`, { data: { attributes: { quotas: Object.fromEntries(Object.entries(quotas).map(([k, v]) => [k, { allowed: v }])) } } });

describe('quotas', () => {
  let s: TestService;
  before(async () => {
    s = await startTestService({ quotaSyncMs: '50' });
  });
  after(async () => s.stop());

  it('refuses requests past the per-minute quota with 429, and admits them again the next minute', async () => {
    const k = await newUser(s, 'minute');
    assert.equal((await setQuotas(s, 'users/minute', { api_requests_minutely: 3 })).status, 200);
    // Frozen at the start of a minute, so that the three requests share one window.
    mock.timers.enable({ apis: ['Date'], now: (Math.floor(Date.now() / 60_000) + 1) * 60_000 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await api(s.url, k, 'GET', '/api/v3/users/minute')).status, 200);
      const refused = await api(s.url, k, 'GET', '/api/v3/users/minute');
      assert.ok(isVtError(refused, 429, 'QuotaExceededError'), JSON.stringify(refused.body));
      assert.match(refused.body.error.message, /api_requests_minutely/);
      assert.ok(isVtError(await api(s.url, k, 'GET', '/api/v3/intelligence/hunting_rulesets'), 429, 'QuotaExceededError'), 'every endpoint counts');
      assert.equal((await api(s.url, s.adminKey, 'GET', '/api/v3/users/minute')).status, 200, 'other users are not held back');
      mock.timers.tick(60_000);
      assert.equal((await api(s.url, k, 'GET', '/api/v3/users/minute')).status, 200, 'a new minute');
    } finally {
      mock.timers.reset();
    }
  });

  it('refuses requests past the daily quota until 00:00 UTC', async () => {
    const k = await newUser(s, 'daily');
    assert.equal((await setQuotas(s, 'users/daily', { api_requests_daily: 2 })).status, 200);
    const midnight = (Math.floor(Date.now() / 86_400_000) + 1) * 86_400_000;
    mock.timers.enable({ apis: ['Date'], now: midnight - 90_000 });
    try {
      assert.equal((await api(s.url, k, 'GET', '/api/v3/users/daily')).status, 200);
      mock.timers.tick(60_000); // another minute, the same day
      assert.equal((await api(s.url, k, 'GET', '/api/v3/users/daily')).status, 200);
      assert.ok(isVtError(await api(s.url, k, 'GET', '/api/v3/users/daily'), 429, 'QuotaExceededError'));
      await sleep(200); // synced to the database and read back: still refused
      assert.ok(isVtError(await api(s.url, k, 'GET', '/api/v3/users/daily'), 429, 'QuotaExceededError'));
      mock.timers.tick(30_000); // 00:00 UTC
      assert.equal((await api(s.url, k, 'GET', '/api/v3/users/daily')).status, 200);
    } finally {
      mock.timers.reset();
    }
  });

  it("shares a group's request quota among its members, beside their own", async () => {
    const dan = await newUser(s, 'dan');
    const eve = await newUser(s, 'eve');
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups', { data: { type: 'group', id: 'blue', attributes: { quotas: { api_requests_daily: 3 } } } })).status, 200);
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups/blue/relationships/users', { data: [{ type: 'user', id: 'dan' }, { type: 'user', id: 'eve' }] })).status, 200);
    assert.equal((await api(s.url, dan, 'GET', '/api/v3/users/dan')).status, 200);
    assert.equal((await api(s.url, dan, 'GET', '/api/v3/users/dan')).status, 200);
    assert.equal((await api(s.url, eve, 'GET', '/api/v3/users/eve')).status, 200);
    const refused = await api(s.url, eve, 'GET', '/api/v3/users/eve');
    assert.ok(isVtError(refused, 429, 'QuotaExceededError'));
    assert.match(refused.body.error.message, /group "blue"/);
    assert.ok(isVtError(await api(s.url, dan, 'GET', '/api/v3/users/dan'), 429, 'QuotaExceededError'));
    // Raised: both go on (quotas changed through this process apply at once).
    assert.equal((await api(s.url, s.adminKey, 'PATCH', '/api/v3/groups/blue', { data: { attributes: { quotas: { api_requests_daily: null } } } })).status, 200);
    assert.equal((await api(s.url, dan, 'GET', '/api/v3/users/dan')).status, 200);
  });

  it('limits the hunting rulesets a user holds', async () => {
    const k = await newUser(s, 'rulesets');
    assert.equal((await setQuotas(s, 'users/rulesets', { intelligence_hunting_rulesets: 1 })).status, 200);
    const make = (name: string) => api(s.url, k, 'POST', '/api/v3/intelligence/hunting_rulesets', { data: { type: 'hunting_ruleset', attributes: { name, rules: RULES } } });
    const first = await make('one');
    assert.equal(first.status, 200);
    assert.ok(isVtError(await make('two'), 429, 'QuotaExceededError'));
    assert.equal((await api(s.url, k, 'DELETE', `/api/v3/intelligence/hunting_rulesets/${first.body.data.id}`)).status, 200);
    assert.equal((await make('three')).status, 200, 'room again once one is deleted');
  });

  it('limits Retrohunt jobs per month; a refused job does not count', async () => {
    const k = await newUser(s, 'hunter');
    assert.equal((await setQuotas(s, 'users/hunter', { intelligence_retrohunt_jobs_monthly: 1 })).status, 200);
    const job = (rules: string) => api(s.url, k, 'POST', '/api/v3/intelligence/retrohunt_jobs', { data: { type: 'retrohunt_job', attributes: { rules } } });
    assert.ok(isVtError(await job('rule broken {'), 400, 'InvalidArgumentError'));
    assert.equal((await job(RULES)).status, 200);
    assert.ok(isVtError(await job(RULES), 429, 'QuotaExceededError'));
    const quotas = (await api(s.url, k, 'GET', '/api/v3/users/hunter/overall_quotas')).body.data;
    assert.deepEqual(quotas.intelligence_retrohunt_jobs_monthly, { user: { allowed: 1, used: 1 } });
  });

  it('limits downloads per month; resuming one is free', async () => {
    const k = await newUser(s, 'reader');
    const up = await api(s.url, s.adminKey, 'POST', '/api/v3/files', fileForm('quota download sample'));
    await waitForAnalysis(s.url, s.adminKey, up.body.data.id);
    const sha = createHash('sha256').update('quota download sample').digest('hex');
    assert.equal((await setQuotas(s, 'users/reader', { intelligence_downloads_monthly: 1 })).status, 200);
    const dl = await fetch(`${s.url}/api/v3/files/${sha}/download`, { headers: { 'x-apikey': k } });
    assert.equal(dl.status, 200);
    assert.equal(await dl.text(), 'quota download sample');
    const resumed = await fetch(`${s.url}/api/v3/files/${sha}/download`, { headers: { 'x-apikey': k, range: 'bytes=6-' } });
    assert.equal(resumed.status, 206);
    assert.equal(await resumed.text(), 'download sample');
    assert.ok(isVtError(await api(s.url, k, 'GET', `/api/v3/files/${sha}/download`), 429, 'QuotaExceededError'));
    // Racing for the last units: never more admitted than allowed.
    const k2 = await newUser(s, 'racer');
    assert.equal((await setQuotas(s, 'users/racer', { intelligence_downloads_monthly: 2 })).status, 200);
    const raced = await Promise.all(Array.from({ length: 8 }, async () => {
      const r = await fetch(`${s.url}/api/v3/files/${sha}/download`, { headers: { 'x-apikey': k2 } });
      await r.arrayBuffer();
      return r.status;
    }));
    assert.ok(raced.filter((x) => x === 200).length <= 2, `statuses ${raced}`);
    assert.ok(raced.every((x) => x === 200 || x === 429), `statuses ${raced}`);
  });

  it("reports overall_quotas and api_usage in VirusTotal's shapes, to the user and administrators only", async () => {
    const k = await newUser(s, 'counted');
    const g = await api(s.url, s.adminKey, 'POST', '/api/v3/groups', { data: { type: 'group', id: 'green', attributes: { quotas: { api_requests_daily: 1000 } } } });
    assert.equal(g.status, 200);
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups/green/relationships/users', { data: [{ type: 'user', id: 'counted' }] })).status, 200);
    assert.equal((await setQuotas(s, 'users/counted', { api_requests_daily: 500 })).status, 200);
    for (let i = 0; i < 3; i++) await api(s.url, k, 'GET', '/api/v3/intelligence/hunting_rulesets');
    await api(s.url, k, 'GET', '/api/v3/users/counted');
    const o = await api(s.url, k, 'GET', '/api/v3/users/counted/overall_quotas');
    assert.equal(o.status, 200);
    assert.deepEqual(Object.keys(o.body.data).sort(), [
      'api_requests_daily', 'api_requests_minutely', 'intelligence_downloads_monthly', 'intelligence_hunting_rulesets', 'intelligence_retrohunt_jobs_monthly',
    ]);
    // Five requests before this one (this one counts too: it was admitted before the report).
    assert.deepEqual(o.body.data.api_requests_daily, {
      user: { allowed: 500, used: 5 },
      group: { allowed: 1000, used: 5, inherited_from: 'green' },
    });
    assert.deepEqual(o.body.data.intelligence_hunting_rulesets.user, { allowed: 2_147_483_647, used: 0 }, 'unlimited');

    // The User object's quotas (spec 7.1), for the user and administrators (one more request of hers).
    const me = await api(s.url, k, 'GET', '/api/v3/users/counted');
    assert.equal(me.body.data.attributes.quotas.api_requests_daily.allowed, 500);
    assert.ok(me.body.data.attributes.quotas.api_requests_daily.used >= 5);
    assert.equal((await api(s.url, s.adminKey, 'GET', '/api/v3/users/counted')).body.data.attributes.quotas.api_requests_daily.allowed, 500);
    assert.equal((await api(s.url, await newUser(s, 'peeker'), 'GET', '/api/v3/users/counted')).body.data.attributes.quotas, undefined);

    const today = dayOf(Date.now());
    const u = await api(s.url, k, 'GET', `/api/v3/users/counted/api_usage?start_date=${today}&end_date=${today}`);
    assert.equal(u.status, 200);
    assert.deepEqual(Object.keys(u.body.data.daily), [dayKey(today)]);
    assert.deepEqual(u.body.data.daily[dayKey(today)], { hunting_rulesets: 3, users: 4 });
    assert.deepEqual(u.body.data.total, { hunting_rulesets: 3, users: 4 });
    const month = await api(s.url, k, 'GET', '/api/v3/users/counted/api_usage');
    assert.equal(Object.keys(month.body.data.daily).length, 30, 'the last 30 days by default, each present');
    assert.ok(isVtError(await api(s.url, k, 'GET', '/api/v3/users/counted/api_usage?start_date=20260101&end_date=20260301'), 400, 'BadRequestError'));
    assert.ok(isVtError(await api(s.url, k, 'GET', '/api/v3/users/counted/api_usage?start_date=2026-01-01'), 400, 'BadRequestError'));
    assert.equal((await api(s.url, s.adminKey, 'GET', '/api/v3/users/counted/overall_quotas')).status, 200);
    // The group's usage: its members' requests together, for its administrators and Trawl's.
    const k3 = await newUser(s, 'teammate');
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups/green/relationships/users', { data: [{ type: 'user', id: 'teammate' }] })).status, 200);
    await api(s.url, k3, 'GET', '/api/v3/intelligence/hunting_rulesets');
    const mine = (await api(s.url, k, 'GET', `/api/v3/users/counted/api_usage?start_date=${today}&end_date=${today}`)).body.data.total;
    const group = await api(s.url, s.adminKey, 'GET', `/api/v3/groups/green/api_usage?start_date=${today}&end_date=${today}`);
    assert.equal(group.status, 200);
    assert.equal(group.body.data.total.hunting_rulesets, mine.hunting_rulesets + 1, 'both members counted');
    assert.deepEqual(group.body.data.daily[dayKey(today)], group.body.data.total);
    assert.ok(isVtError(await api(s.url, k3, 'GET', '/api/v3/groups/green/api_usage'), 403, 'ForbiddenError'), 'a member who does not administer it');
    assert.equal((await api(s.url, s.adminKey, 'POST', '/api/v3/groups/green/relationships/administrators', { data: [{ type: 'user', id: 'teammate' }] })).status, 200);
    assert.equal((await api(s.url, k3, 'GET', '/api/v3/groups/green/api_usage')).status, 200, 'the group\'s administrator');
    const other = await newUser(s, 'nosy');
    assert.ok(isVtError(await api(s.url, other, 'GET', '/api/v3/groups/green/api_usage'), 404, 'NotFoundError'), 'not a member: no such group');
    assert.ok(isVtError(await api(s.url, other, 'GET', '/api/v3/users/counted/overall_quotas'), 403, 'ForbiddenError'));
    assert.ok(isVtError(await api(s.url, other, 'GET', '/api/v3/users/counted/api_usage'), 403, 'ForbiddenError'));
  });

  it('refuses a malformed quota', async () => {
    await newUser(s, 'bad');
    assert.ok(isVtError(await setQuotas(s, 'users/bad', { api_requests_daily: -1 }), 400, 'BadRequestError'));
    assert.ok(isVtError(await setQuotas(s, 'users/bad', { no_such_quota: 1 }), 400, 'BadRequestError'));
  });
});

const pgUrl = process.env.TRAWL_TEST_PG_URL;
describe('quotas across two API processes on one PostgreSQL database', { skip: pgUrl ? false : 'needs TRAWL_TEST_PG_URL' }, () => {
  const pg = postgresBackend(pgUrl ?? '');
  const services: Service[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const x of services) await x.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
    await pg.cleanup();
  });

  it('counts one user\'s requests to either process against one quota', async () => {
    const database = await pg.freshUrl();
    const blobs = await mkdtemp(join(tmpdir(), 'trawl-quota-blobs-'));
    dirs.push(blobs);
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'trawl-quota-'));
      dirs.push(dir);
      services.push(await startService(loadConfig({ env: {}, flags: { dataDir: dir, blobDir: blobs, database, port: '0', logLevel: 'silent', role: 'api', quotaSyncMs: '50' } })));
    }
    const [a, b] = services.map((x) => x.url!);
    const adminKey = services[0]!.adminKey!;
    const user = await api(a!, adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: 'spread', attributes: {} } });
    const k = user.body.data.attributes.apikey;
    assert.equal((await api(a!, adminKey, 'PATCH', '/api/v3/users/spread', { data: { attributes: { quotas: { api_requests_daily: { allowed: 6 } } } } })).status, 200);
    // Alternating, one sync interval apart: each process knows what the other admitted.
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) {
      statuses.push((await api(i % 2 ? b! : a!, k, 'GET', '/api/v3/users/spread')).status);
      await sleep(150);
    }
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200, 429, 429]);
    const o = await api(b!, k, 'GET', '/api/v3/users/spread/overall_quotas');
    assert.equal(o.status, 429, 'the report is a request too');
  });
});
