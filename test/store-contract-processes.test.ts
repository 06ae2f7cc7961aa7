// The Store contract: the registry of live processes (`trawl status`, sweeping dead processes'
// folders). Run against every implementation (test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { ProcessRecord } from '../src/store/store.js';
import { storeContract } from './helpers/store-contract.js';

// One clock reading for the whole file: a record rebuilt for comparison must not cross a second.
const T0 = Math.floor(Date.now() / 1000);
const now = () => T0;

function proc(id: string, over: Partial<ProcessRecord> = {}): ProcessRecord {
  return {
    id, role: 'worker', host: 'host-a', pid: 42, version: '0.1.0', engineVersion: 'YARA-X 1.20.0',
    startedAt: now() - 100, heartbeatAt: now(), jobsHeld: 3, lagMs: 12.4, blobStore: 's3://trawl/blobs/', ...over,
  };
}

storeContract('the registry of live processes', ({ fresh }) => {
  it('lists processes that reported recently, oldest start first, with what they reported last', async () => {
    const s = await fresh();
    await s.heartbeatProcess(proc('b', { startedAt: now() - 50, role: 'api' }));
    await s.heartbeatProcess(proc('a'));
    await s.heartbeatProcess(proc('a', { jobsHeld: 7, lagMs: 3 }));
    await s.heartbeatProcess(proc('silent', { heartbeatAt: now() - 120 }));
    const live = await s.listProcesses(60);
    assert.deepEqual(live.map((p) => p.id), ['a', 'b']);
    assert.equal(live[0]!.jobsHeld, 7);
    assert.equal(live[0]!.lagMs, 3);
    assert.equal(live[1]!.role, 'api');
    assert.deepEqual(live[0], { ...proc('a', { jobsHeld: 7, lagMs: 3 }), heartbeatAt: live[0]!.heartbeatAt });
    assert.deepEqual((await s.listProcesses(600)).map((p) => p.id), ['a', 'silent', 'b']);
  });

  it('forgets a process that stopped, and rows silent for a day', async () => {
    const s = await fresh();
    await s.heartbeatProcess(proc('stopping'));
    await s.heartbeatProcess(proc('long-dead', { heartbeatAt: now() - 2 * 86_400 }));
    await s.removeProcess('stopping');
    await s.removeProcess('never-there');
    assert.deepEqual(await s.listProcesses(10 * 86_400), []);
  });
});
