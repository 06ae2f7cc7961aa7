// `trawl user ...` against a real SQLite database, and keys that then work over the API.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { startService } from '../src/main.js';
import { api, isVtError, runCli } from './helpers/service.js';

const trawl = (...args: string[]) => runCli(args);

describe('trawl user', () => {
  it('adds users, rotates keys, disables and deletes them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-cli-user-'));
    const add = await trawl('user', 'add', 'alice', '--data-dir', dir);
    assert.equal(add.code, 0, add.err);
    const key = add.out.trim();
    assert.match(key, /^[0-9a-f]{64}$/);
    const dup = await trawl('user', 'add', 'alice', '--data-dir', dir);
    assert.equal(dup.code, 1);
    assert.match(dup.err, /AlreadyExistsError/);
    assert.equal((await trawl('user', 'add', 'bad name!', '--data-dir', dir)).code, 1);
    assert.equal((await trawl('user', 'key', 'alice', '--data-dir', dir)).code, 2, 'keys cannot be shown again');
    const rotated = await trawl('user', 'key', 'alice', '--rotate', '--data-dir', dir);
    assert.equal(rotated.code, 0);
    const fresh = rotated.out.trim();
    assert.notEqual(fresh, key);
    assert.equal((await trawl('user', 'add', 'root', '--admin', '--data-dir', dir)).code, 0);
    assert.match((await trawl('user', 'list', '--data-dir', dir)).out, /alice\tuser\tactive\nroot\tadmin\tactive\n/);

    const s = await startService(loadConfig({ env: {}, flags: { dataDir: dir, port: '0', logLevel: 'silent', workers: '1' } }));
    try {
      assert.equal(s.adminKey, null, 'users exist, so no admin is created');
      assert.ok(isVtError(await api(s.url!, key, 'GET', '/api/v3/users/alice'), 401, 'WrongCredentialsError'), 'the rotated-out key fails');
      assert.equal((await api(s.url!, fresh, 'GET', '/api/v3/users/alice')).body.data.attributes.apikey, fresh);
      assert.equal((await trawl('user', 'disable', 'alice', '--data-dir', dir)).code, 0);
      await new Promise((r) => setTimeout(r, 2100)); // the key cache of the running service expires
      assert.ok(isVtError(await api(s.url!, fresh, 'GET', '/api/v3/users/alice'), 401, 'UserNotActiveError'));
      assert.equal((await trawl('user', 'delete', 'alice', '--data-dir', dir)).code, 0);
      assert.equal((await trawl('user', 'delete', 'alice', '--data-dir', dir)).code, 1);
    } finally {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
