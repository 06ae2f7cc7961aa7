// /api/v3/files: uploads (direct and through one-time upload URLs), File objects, downloads.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, objectNotFound } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { absoluteUrl, originOf } from '../envelope.js';
import { fileObject } from '../serializers/file.js';

const HASH = /^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;

export function fileRoutes(deps: ApiDeps) {
  const { store, intake, blobs, config } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);
  const uploadOf = (req: FastifyRequest) => ({ headers: req.headers, body: req.raw, ip: req.ip });
  const analysisRef = (analysisId: string) => ({ data: { type: 'analysis', id: analysisId } });

  async function findFile(id: string) {
    const f = HASH.test(id) ? await store.getFile(id) : null;
    if (!f) throw objectNotFound('File', id);
    return f;
  }

  return async (app: FastifyInstance) => {
    app.post('/files', async (req) => analysisRef((await intake.upload(req.user, uploadOf(req))).analysisId));

    app.get('/files/upload_url', async (req) => {
      const token = await intake.newUploadToken(req.user);
      return { data: absoluteUrl(origin(req), `/api/v3/files/upload/${token}`) };
    });

    app.post<{ Params: { token: string } }>('/files/upload/:token', async (req) =>
      analysisRef((await intake.uploadWithToken(req.user, req.params.token, uploadOf(req))).analysisId),
    );

    app.get<{ Params: { id: string } }>('/files/:id', async (req) => ({
      data: fileObject(origin(req), await findFile(req.params.id)),
    }));

    app.get<{ Params: { id: string } }>('/files/:id/download_url', async (req) => {
      const f = await findFile(req.params.id);
      return { data: absoluteUrl(origin(req), `/api/v3/files/${f.sha256}/download`) };
    });

    app.get<{ Params: { id: string } }>('/files/:id/download', async (req, reply) => {
      const f = await findFile(req.params.id);
      const stream = await blobs.read(f.sha256);
      if (!stream) throw new TrawlError('NotFoundError', `content of file "${f.sha256}" is not available`);
      return reply
        .type('application/octet-stream')
        .header('content-length', f.size)
        .header('content-disposition', `attachment; filename="${f.sha256}"`)
        .send(stream);
    });
  };
}
