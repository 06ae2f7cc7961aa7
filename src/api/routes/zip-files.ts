// /api/v3/intelligence/zip_files (spec 6.5): thin HTTP glue over delivery/zip-files.ts. Owner-only:
// another user's ZIP file is NotFoundError, as if it did not exist.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../app.js';
import { absoluteUrl, originOf } from '../envelope.js';
import { zipFileObject, zipFilePath } from '../serializers/zip-file.js';

type WithId = { Params: { id: string } };

export function zipFileRoutes(deps: ApiDeps) {
  const { zipFiles, config } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  return async (app: FastifyInstance) => {
    const base = '/intelligence/zip_files';
    // vt-py posts the body without a content type; app.ts parses JSON whatever the type.
    app.post(base, async (req) => ({ data: zipFileObject(origin(req), await zipFiles.create(req.user, (req.body as { data?: unknown } | undefined)?.data)) }));
    app.get<WithId>(`${base}/:id`, async (req) => ({ data: zipFileObject(origin(req), await zipFiles.visible(req.user, req.params.id)) }));
    // VirusTotal's URL works for an hour without an API key; Trawl's is the download endpoint,
    // which takes the caller's x-apikey as every other (vt-cli and vt-py send it).
    app.get<WithId>(`${base}/:id/download_url`, async (req) => {
      await zipFiles.downloadable(req.user, req.params.id);
      return { data: absoluteUrl(origin(req), `${zipFilePath(req.params.id)}/download`) };
    });
    app.get<WithId>(`${base}/:id/download`, async (req, reply) => {
      const { zip, size, stream } = await zipFiles.content(req.user, req.params.id);
      return reply
        .type('application/zip')
        .header('content-length', size)
        .header('content-disposition', `attachment; filename="${zip.id}.zip"`)
        .send(stream);
    });
  };
}
