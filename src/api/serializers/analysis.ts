// Analysis objects (spec: GET /analyses/{id}): the state of one submission's analysis. A failed
// one answers `completed`, VirusTotal's only terminal status (vt-py and vt-cli poll until they
// see it), and says it failed in VirusTotal's vocabulary plus Trawl's own attributes (docs/api.md).
import type { SubmissionRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';
import { emptyAnalysisStats, failureResults, failureStats } from './file.js';

export function analysisObject(origin: string, s: SubmissionRecord): VtObject & { links: { self: string; item: string } } {
  const failed = s.status === 'failed' ? s.failure : undefined;
  return {
    type: 'analysis',
    id: s.analysisId,
    links: { self: absoluteUrl(origin, `/api/v3/analyses/${s.analysisId}`), item: absoluteUrl(origin, `/api/v3/files/${s.sha256}`) },
    attributes: {
      date: s.date,
      status: s.status === 'failed' ? 'completed' : s.status,
      results: failed ? failureResults(failed) : {},
      stats: failed ? failureStats() : emptyAnalysisStats(),
      // Trawl's own: the status with `failed` told apart, and why.
      trawl_status: s.status,
      ...(failed ? { error: { code: failed.code, message: failed.message } } : {}),
    },
  };
}
