// /api/v3/analyses: the state of one submission's analysis (queued -> in-progress -> completed,
// which a failed analysis also reads: serializers/analysis.ts).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { objectNotFound } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { originOf } from '../envelope.js';
import { analysisObject } from '../serializers/analysis.js';
import { fileObject } from '../serializers/file.js';

export function analysisRoutes({ store, config }: ApiDeps) {
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);
  async function find(id: string) {
    const s = id.length <= 256 ? await store.getSubmissionByAnalysisId(id) : null;
    if (!s) throw objectNotFound('Analysis', id);
    return s;
  }

  return async (app: FastifyInstance) => {
    app.get<{ Params: { id: string } }>('/analyses/:id', async (req) => {
      const s = await find(req.params.id);
      return {
        data: analysisObject(origin(req), s),
        meta: { file_info: { sha256: s.sha256, sha1: s.sha1, md5: s.md5, size: s.size } },
      };
    });

    app.get<{ Params: { id: string } }>('/analyses/:id/item', async (req) => {
      const s = await find(req.params.id);
      const f = await store.getFile(s.sha256);
      if (!f) throw objectNotFound('File', s.sha256);
      return { data: fileObject(origin(req), f) };
    });
  };
}
