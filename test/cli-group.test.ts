// `trawl group ...` and `trawl user quota` against a real SQLite database, and what a running
// service then does with them: group relationships, and a quota set from the CLI enforced
// within the 5 s a process keeps a user's quotas.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/main.js';
import { api, isVtError, runCli } from './helpers/service.js';

const trawl = (...args: string[]) => runCli(args);

describe('trawl group and trawl user quota', () => {
  it('creates groups, manages members and quotas, and the service enforces them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-cli-group-'));
    const d = ['--data-dir', dir];
    try {
      const key = (await trawl('user', 'add', 'alice', ...d)).out.trim();
      assert.equal((await trawl('user', 'add', 'bob', ...d)).code, 0);
      assert.equal((await trawl('group', 'create', 'red', ...d)).code, 0);
      assert.match((await trawl('group', 'create', 'red', ...d)).err, /AlreadyExistsError/);
      assert.equal((await trawl('group', 'create', 'bad name', ...d)).code, 1);
      assert.equal((await trawl('group', 'add', 'red', 'alice', '--admin', ...d)).code, 0);
      assert.equal((await trawl('group', 'add', 'red', 'bob', ...d)).code, 0);
      assert.match((await trawl('group', 'add', 'red', 'nobody', ...d)).err, /NotFoundError/);
      assert.equal((await trawl('group', 'list', 'red', ...d)).out, 'alice\tadministrator\nbob\tmember\n');
      assert.equal((await trawl('group', 'list', ...d)).out, 'red\t2 members\n');
      assert.equal((await trawl('group', 'remove', 'red', 'bob', ...d)).code, 0);
      assert.equal((await trawl('group', 'remove', 'red', 'bob', ...d)).code, 1, 'no longer a member');
      const g = await trawl('group', 'quota', 'red', '--api-requests-daily', '1000', ...d);
      assert.equal(g.code, 0, g.err);
      assert.match(g.out, /^api_requests_daily\t1000$/m);
      assert.match(g.out, /^api_requests_minutely\tunlimited$/m);
      assert.equal((await trawl('user', 'quota', 'alice', '--api-requests-minutely', 'many', ...d)).code, 1, 'not a count');
      assert.equal((await trawl('group', 'add', 'x', 'y', 'z', ...d)).code, 1, 'no group x');
      assert.equal((await trawl('group', 'frobnicate', ...d)).code, 2);

      const s = await startService(loadConfig({ env: {}, flags: { dataDir: dir, port: '0', logLevel: 'silent', workers: '1', quotaSyncMs: '50' } }));
      try {
        const me = await api(s.url!, key, 'GET', '/api/v3/users/alice?relationships=groups,api_quota_group');
        assert.deepEqual(me.body.data.relationships.groups.data, [{ type: 'group', id: 'red' }]);
        assert.deepEqual(me.body.data.relationships.api_quota_group.data, { type: 'group', id: 'red' });
        // Alice made one request today (above): two more pass.
        const q = await trawl('user', 'quota', 'alice', '--api-requests-daily', '3', ...d);
        assert.equal(q.code, 0, q.err);
        assert.match(q.out, /^api_requests_daily\t3$/m);
        await new Promise((r) => setTimeout(r, 5100)); // the service re-reads alice's quotas
        const toMidnight = 86_400_000 - (Date.now() % 86_400_000);
        // Close to 00:00 UTC: past it, a new day in which alice has made no request yet.
        if (toMidnight < 10_000) await new Promise((r) => setTimeout(r, toMidnight + 1000));
        const statuses: number[] = [];
        for (let i = 0; i < 3; i++) statuses.push((await api(s.url!, key, 'GET', '/api/v3/users/alice')).status);
        assert.deepEqual(statuses, toMidnight < 10_000 ? [200, 200, 200] : [200, 200, 429]);
        assert.ok(isVtError(await api(s.url!, key, 'GET', '/api/v3/users/alice'), 429, 'QuotaExceededError'));
        assert.equal((await trawl('user', 'quota', 'alice', '--api-requests-daily', 'unlimited', ...d)).code, 0);
        assert.match((await trawl('user', 'quota', 'alice', ...d)).out, /^api_requests_daily\tunlimited$/m);
        assert.equal((await trawl('group', 'delete', 'red', ...d)).code, 0);
        assert.equal((await trawl('group', 'list', ...d)).out, '');
      } finally {
        await s.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
