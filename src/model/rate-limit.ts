// A ruleset's rate limiting over time (spec 2.1 `rate_limited`, `rate_limited_ratio`): periods
// during which its matches were dropped because it had reached its `limit` for the last 24 hours.
// Pure functions over the stored state, so the store and the API agree on one definition.
import type { RateLimitState } from './records.js';

const DAY = 86_400;

/**
 * The state after the limit was (still) found reached at `now`; `until` is when room frees up
 * again (the oldest notification in the window turns 24 hours old). A period that had ended
 * before `now` is closed into the log and a new one starts; periods older than a day are dropped.
 */
export function limitReached(state: RateLimitState, now: number, until: number): RateLimitState {
  const recent = (log: [number, number][]) => log.filter(([, end]) => end > now - DAY);
  if (state.from !== null && state.until !== null && state.until >= now) {
    return { from: state.from, until: Math.max(state.until, until), log: recent(state.log) };
  }
  const closed: [number, number][] = state.from !== null && state.until !== null ? [[state.from, state.until]] : [];
  return { from: now, until, log: recent([...state.log, ...closed]) };
}

/** Whether the ruleset is paused at `now`. */
export function isRateLimited(state: RateLimitState, now: number): boolean {
  return state.from !== null && state.until !== null && state.from <= now && now < state.until;
}

/** Fraction of the 24 hours before `now` spent rate limited (0..1). */
export function rateLimitedRatio(state: RateLimitState, now: number): number {
  const periods = [...state.log];
  if (state.from !== null && state.until !== null) periods.push([state.from, state.until]);
  let covered = 0;
  for (const [from, until] of periods) {
    const start = Math.max(from, now - DAY);
    const end = Math.min(until, now);
    if (end > start) covered += end - start;
  }
  return Math.min(1, covered / DAY);
}
