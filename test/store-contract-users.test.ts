// The Store contract: users and upload URLs. Run against every implementation (SQLite with and
// without its writer thread, PostgreSQL; test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isCode, storeContract } from './helpers/store-contract.js';

storeContract('users and upload URLs', ({ fresh }) => {
  it('creates, finds, lists, updates and deletes users', async () => {
    const s = await fresh();
    const alice = await s.createUser({ username: 'alice', isAdmin: true, apikeyHash: 'h1', createdAt: 10 });
    assert.deepEqual(alice, {
      id: alice.id, username: 'alice', email: null, isAdmin: true, disabled: false, createdAt: 10, apikeyHash: 'h1',
    });
    const bob = await s.createUser({ username: 'bob', isAdmin: false, apikeyHash: 'h2', email: 'b@x', createdAt: 11 });
    assert.deepEqual(await s.getUserById(bob.id), bob);
    assert.deepEqual(await s.getUserByName('alice'), alice);
    assert.deepEqual(await s.getUserByKeyHash('h2'), bob);
    assert.equal(await s.getUserByKeyHash('nope'), null);
    assert.equal(await s.getUserById(9999), null);
    assert.equal(await s.countUsers(), 2);
    assert.deepEqual((await s.listUsers(0, 10)).map((u) => u.username), ['alice', 'bob']);
    assert.deepEqual((await s.listUsers(alice.id, 10)).map((u) => u.username), ['bob']);
    assert.deepEqual((await s.listUsers(0, 1)).map((u) => u.username), ['alice']);

    await assert.rejects(s.createUser({ username: 'alice', isAdmin: false, apikeyHash: 'h3', createdAt: 1 }), (e) =>
      isCode('AlreadyExistsError')(e) && /alice/.test((e as Error).message));
    await assert.rejects(s.createUser({ username: 'carol', isAdmin: false, apikeyHash: 'h1', createdAt: 1 }),
      isCode('AlreadyExistsError'));

    const updated = await s.updateUser(bob.id, { disabled: true, isAdmin: true, apikeyHash: 'h9', email: null });
    assert.deepEqual(updated, { ...bob, disabled: true, isAdmin: true, apikeyHash: 'h9', email: null });
    assert.equal(await s.getUserByKeyHash('h2'), null);
    assert.deepEqual(await s.getUserByKeyHash('h9'), updated);
    assert.deepEqual(await s.updateUser(bob.id, {}), updated);
    assert.equal(await s.updateUser(9999, { disabled: true }), null);
    await assert.rejects(s.updateUser(bob.id, { apikeyHash: 'h1' }), isCode('AlreadyExistsError'));

    assert.equal(await s.deleteUser(bob.id), true);
    assert.equal(await s.deleteUser(bob.id), false);
    assert.equal(await s.getUserById(bob.id), null);
    assert.equal(await s.countUsers(), 1);
  });

  it('upload URLs are one-time, expire, and only their owner spends them', async () => {
    const s = await fresh();
    await s.createUploadUrl('t1', 7, 1000);
    assert.equal(await s.consumeUploadUrl('unknown', 7, 500), null);
    assert.equal(await s.consumeUploadUrl('t1', 9, 500), 'not-yours');
    assert.equal(await s.consumeUploadUrl('t1', 7, 500), 'consumed', 'another user\'s try did not spend it');
    assert.equal(await s.consumeUploadUrl('t1', 7, 500), null);
    await s.createUploadUrl('t2', 7, 1000);
    assert.equal(await s.consumeUploadUrl('t2', 7, 1000), null, 'expired');
    await s.createUploadUrl('t3', 8, 1000);
    const results = await Promise.all(Array.from({ length: 10 }, () => s.consumeUploadUrl('t3', 8, 500)));
    assert.deepEqual(results.filter((r) => r !== null), ['consumed']);
  });
});
