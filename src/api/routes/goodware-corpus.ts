// /api/v3/trawl/corpus/goodware/files: Trawl's own route (docs/api.md) through which an
// administrator fills the goodware corpus that retrohunt jobs with `corpus: "goodware"` scan.
// Multipart like POST /files; thin HTTP glue over intake/intake.ts, which refuses non-admins.
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

const GOODWARE_FILES_PATH = '/trawl/corpus/goodware/files';

export function goodwareCorpusRoutes({ intake }: ApiDeps) {
  return async (app: FastifyInstance) => {
    app.post(GOODWARE_FILES_PATH, async (req) => {
      const s = await intake.uploadGoodware(req.user, { headers: req.headers, body: req.raw, ip: req.ip });
      return { data: { type: 'analysis', id: s.analysisId } };
    });
  };
}
