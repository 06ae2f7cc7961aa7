// The rate-limit periods of a ruleset (model/rate-limit.ts): when it is paused, and the fraction
// of the last 24 hours it spent paused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isRateLimited, limitReached, rateLimitedRatio } from '../src/model/rate-limit.js';

const DAY = 86_400;
const T = 1_700_000_000;

describe('rate limit periods', () => {
  it('opens a period when the limit is reached, extends it while it lasts, logs it once over', () => {
    let s = limitReached({ from: null, until: null, log: [] }, T, T + 6 * 3600);
    assert.deepEqual(s, { from: T, until: T + 6 * 3600, log: [] });
    assert.equal(isRateLimited(s, T + 100), true);
    assert.equal(isRateLimited(s, T + 6 * 3600), false);
    assert.equal(rateLimitedRatio(s, T + 6 * 3600), 0.25);
    assert.equal(rateLimitedRatio(s, T + 3 * 3600), 0.125);
    s = limitReached(s, T + 3600, T + 8 * 3600);
    assert.deepEqual(s, { from: T, until: T + 8 * 3600, log: [] }, 'still paused: the same period, longer');
    s = limitReached(s, T + 10 * 3600, T + 12 * 3600);
    assert.deepEqual(s, { from: T + 10 * 3600, until: T + 12 * 3600, log: [[T, T + 8 * 3600]] });
    assert.equal(rateLimitedRatio(s, T + 12 * 3600), 10 / 24);
    // A day later the first period has slid out of the window, and out of the log at the next change.
    assert.equal(rateLimitedRatio(s, T + DAY + 11 * 3600), 1 / 24);
    s = limitReached(s, T + 2 * DAY, T + 2 * DAY + 60);
    assert.deepEqual(s.log, [], 'periods older than a day are forgotten');
  });

  it('never reports more than the whole day', () => {
    const s = { from: T - 3 * DAY, until: T + DAY, log: [] as [number, number][] };
    assert.equal(rateLimitedRatio(s, T), 1);
    assert.equal(rateLimitedRatio({ from: null, until: null, log: [] }, T), 0);
  });
});
