// IntakeLoad: the rate of received upload bytes over the last 250 ms, on a clock the test drives.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IntakeLoad } from '../src/intake/intake-load.js';

test('bulk while the last 250 ms carried more than the rate; quiet once they pass', () => {
  let now = 1000;
  const load = new IntakeLoad(32 * 1024 * 1024, () => now);
  assert.equal(load.busy, false);
  load.add(4 * 1024 * 1024);
  assert.equal(load.rate(), 16 * 1024 * 1024);
  assert.equal(load.busy, false, '16 MB/s is not bulk');
  now += 100;
  load.add(5 * 1024 * 1024);
  assert.equal(load.busy, true, '9 MB within 250 ms is 36 MB/s');
  now += 160; // the first upload left the window
  assert.equal(load.rate(), 20 * 1024 * 1024);
  assert.equal(load.busy, false);
  now += 1000;
  assert.equal(load.rate(), 0);
});
