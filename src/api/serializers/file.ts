// File objects (spec 6.1) as clients expect them. Trawl runs no antivirus engines, so the
// last_analysis_* attributes look like those of a file no engine scanned, or one engine's,
// Trawl-YARA's, when community rules scanned it (docs/api.md, "Verdicts"), or, while the file's
// latest analysis failed, like one that Trawl, as its one engine, failed on (docs/api.md).
import { yaraXEngineVersion } from '../../hunting/engine/yara-x.js';
import type { AnalysisFailure, CommunityScan, FileRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';

export const emptyAnalysisStats = () => ({
  'confirmed-timeout': 0,
  failure: 0,
  harmless: 0,
  malicious: 0,
  suspicious: 0,
  timeout: 0,
  'type-unsupported': 0,
  undetected: 0,
});

/**
 * A failed analysis's `results` in VirusTotal's own vocabulary: one engine, Trawl, with category
 * `failure` (an engine that could not scan). Like VirusTotal's URL results, without
 * engine_version and engine_update: Trawl is no signature engine.
 */
export const failureResults = (failure: AnalysisFailure) => ({
  Trawl: { category: 'failure', engine_name: 'Trawl', method: 'blacklist', result: failure.message },
});

export const failureStats = () => ({ ...emptyAnalysisStats(), failure: 1 });

/** The engine community rules make of Trawl (docs/api.md, "Verdicts"). */
export const COMMUNITY_ENGINE = 'Trawl-YARA';

/** `YYYYMMDD` of a UNIX date, VirusTotal's engine_update. */
const day = (date: number) => new Date(date * 1000).toISOString().slice(0, 10).replaceAll('-', '');

/**
 * A file's community verdict as one engine's result: `malicious` when a community rule matched
 * (result: the first rule's name), else `undetected`. engine_update is the day of the scan.
 */
export function communityResults(scan: CommunityScan): Record<string, unknown> {
  const first = scan.matches[0];
  return {
    [COMMUNITY_ENGINE]: {
      category: first ? 'malicious' : 'undetected',
      engine_name: COMMUNITY_ENGINE,
      engine_version: yaraXEngineVersion(),
      result: first ? first.ruleName : null,
      method: 'blacklist',
      engine_update: day(scan.date),
    },
  };
}

export const communityStats = (scan: CommunityScan) => ({ ...emptyAnalysisStats(), [scan.matches.length ? 'malicious' : 'undetected']: 1 });

/** VirusTotal's crowdsourced_yara_results (spec 6.1); author and description when the rule's meta had them. */
export function crowdsourcedYaraResults(scan: CommunityScan): Record<string, unknown>[] {
  return scan.matches.map((m) => ({
    rule_name: m.ruleName,
    ruleset_id: String(m.rulesetId),
    ruleset_name: m.rulesetName,
    source: m.source,
    ...(m.author !== undefined ? { author: m.author } : {}),
    ...(m.description !== undefined ? { description: m.description } : {}),
    match_in_subfile: m.matchInSubfile,
  }));
}

export function fileAttributes(f: FileRecord): Record<string, unknown> {
  const a: Record<string, unknown> = {
    md5: f.md5,
    sha1: f.sha1,
    sha256: f.sha256,
    size: f.size,
    names: f.names,
    first_submission_date: f.firstSubmissionDate,
    last_submission_date: f.lastSubmissionDate,
    times_submitted: f.timesSubmitted,
    unique_sources: f.uniqueSources,
    tags: f.tags ?? [],
    last_analysis_results: f.analysisError ? failureResults(f.analysisError) : f.communityScan ? communityResults(f.communityScan) : {},
    last_analysis_stats: f.analysisError ? failureStats() : f.communityScan ? communityStats(f.communityScan) : emptyAnalysisStats(),
    reputation: 0,
    total_votes: { harmless: 0, malicious: 0 },
  };
  if (f.names.length > 0) a.meaningful_name = f.names[0];
  // Like VirusTotal, only for a file some rule matched.
  if (f.communityScan?.matches.length) a.crowdsourced_yara_results = crowdsourcedYaraResults(f.communityScan);
  // Dates are omitted, never null: vt-py converts every *_date attribute it sees (spec 1.3).
  if (f.lastAnalysisDate !== undefined) {
    a.last_analysis_date = f.lastAnalysisDate;
    a.last_modification_date = f.lastAnalysisDate;
    a.magic = f.magic;
    a.type_description = f.typeDescription;
    a.type_tag = f.typeTag;
    a.type_tags = f.typeTags;
    a.type_extension = f.typeExtension;
    if (f.bundleInfo) a.bundle_info = f.bundleInfo;
  }
  // Trawl's own: why the latest analysis failed (the type attributes above, if any, are those of
  // an earlier analysis that succeeded).
  if (f.analysisError) a.trawl_analysis_error = { code: f.analysisError.code, message: f.analysisError.message, date: f.analysisError.date };
  return a;
}

export function fileObject(origin: string, f: FileRecord): VtObject {
  return {
    type: 'file',
    id: f.sha256,
    links: { self: absoluteUrl(origin, `/api/v3/files/${f.sha256}`) },
    attributes: fileAttributes(f),
  };
}

/**
 * A File item with context attributes (notification lists), as JSON text from parts already
 * serialized; without attributes, its descriptor form (type, id, context).
 */
export function fileItemJson(origin: string, sha256: string, attributesJson: string | null, contextJson: string): string {
  const id = JSON.stringify(sha256);
  if (attributesJson === null) return `{"type":"file","id":${id},"context_attributes":${contextJson}}`;
  const self = JSON.stringify(absoluteUrl(origin, `/api/v3/files/${sha256}`));
  return `{"type":"file","id":${id},"links":{"self":${self}},"attributes":${attributesJson},"context_attributes":${contextJson}}`;
}
