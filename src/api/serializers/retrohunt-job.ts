// Retrohunt job objects (spec 5.1) and the context of their matching files.
import type { RetrohuntJobRecord, RetrohuntMatch } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';

export const retrohuntJobPath = (id: string) => `/api/v3/intelligence/retrohunt_jobs/${encodeURIComponent(id)}`;

export function retrohuntJobAttributes(j: RetrohuntJobRecord): Record<string, unknown> {
  return {
    rules: j.rules,
    ...(j.notificationEmail ? { notification_email: j.notificationEmail } : {}),
    corpus: j.corpus,
    time_range: { start: j.timeRange.start, end: j.timeRange.end },
    creation_date: j.creationDate,
    // Absent until the job starts (vt-cli prints "not yet") or ends.
    ...(j.startDate !== null ? { start_date: j.startDate } : {}),
    ...(j.finishDate !== null ? { finish_date: j.finishDate } : {}),
    status: j.status,
    // Always present, and a float: vt-cli panics without it.
    progress: Math.round(j.progress * 1e4) / 1e4,
    eta_seconds: j.etaSeconds,
    scanned_bytes: j.scannedBytes,
    num_matches: j.numMatches,
    // Trawl has no per-user lookback window: every match is inside the job's time range.
    num_matches_outside_time_range: 0,
    // Trawl's own: why an aborted (or aborting) job stopped (docs/api.md).
    ...(j.abortReason !== null ? { trawl_abort_reason: j.abortReason } : {}),
  };
}

export function retrohuntJobObject(origin: string, j: RetrohuntJobRecord): VtObject {
  return { type: 'retrohunt_job', id: j.id, links: { self: absoluteUrl(origin, retrohuntJobPath(j.id)) }, attributes: retrohuntJobAttributes(j) };
}

/** `context_attributes` of a matching_files item: which rule matched, where, and the hexdump around it. */
export function retrohuntMatchContext(m: RetrohuntMatch): Record<string, unknown> {
  return { rule_name: m.rule, snippet: m.snippet ?? '', match_in_subfile: m.matchInSubfile };
}
