// /api/v3/files: uploads (direct and through one-time upload URLs), File objects, their
// relationships and analyses, re-analysis, downloads.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, objectNotFound } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { absoluteUrl, collection, decodeCursor, encodeCursor, isSha256, originOf, parseLimit, queryValue, type VtObject } from '../envelope.js';
import { analysisObject } from '../serializers/analysis.js';
import { fileObject } from '../serializers/file.js';

const HASH = /^([0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/;
const isSubmissionId = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;

/** The file relationships Trawl fills (spec 6.2): subfiles and the containers they came from. */
const LINKS = { bundled_files: 'children', compressed_parents: 'parents' } as const;
type LinkName = keyof typeof LINKS;
/**
 * VirusTotal relationships of files that Trawl has nothing for (no sandbox, no crawler): served
 * as empty lists rather than 404, so clients asking for them carry on.
 */
const EMPTY_RELATIONSHIPS = [
  'email_attachments', 'email_parents', 'overlay_children', 'overlay_parents', 'pe_resource_children', 'pe_resource_parents',
  'pcap_children', 'pcap_parents', 'ciphered_bundled_files', 'ciphered_parents', 'execution_parents', 'dropped_files',
  'contacted_domains', 'contacted_ips', 'contacted_urls', 'embedded_domains', 'embedded_ips', 'embedded_urls',
  'itw_domains', 'itw_ips', 'itw_urls', 'similar_files', 'comments', 'votes', 'graphs', 'collections', 'behaviours',
];
/** Every relationship of files that Trawl answers (what GET /metadata lists for `file`). */
export const FILE_RELATIONSHIPS: readonly string[] = [...Object.keys(LINKS), 'analyses', ...EMPTY_RELATIONSHIPS];
/** Links embedded per relationship by `relationships=` on a file (the rest through links.next). */
const EMBEDDED_LINKS = 20;

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

  /** One page of a file's links, as full objects or descriptors (the /relationships/ form). */
  async function linkPage(req: FastifyRequest, sha256: string, name: LinkName, full: boolean, limit: number) {
    const cursor = queryValue(req, 'cursor');
    const after = cursor ? decodeCursor(cursor, isSha256) : null;
    const rows = await store.listFileLinks(sha256, LINKS[name], after, limit + 1);
    const items: VtObject[] = rows.slice(0, limit).map((l) => (full ? fileObject(origin(req), l.file) : { type: 'file', id: l.file.sha256 }));
    return { items, next: rows.length > limit ? encodeCursor(rows[limit - 1]!.file.sha256) : undefined };
  }

  /**
   * One page of a file's analyses (its uploads and re-analyses), newest first, as Analysis
   * objects or descriptors; the cursor is the id of the page's last submission.
   */
  async function analysisPage(req: FastifyRequest, sha256: string, full: boolean, limit: number) {
    const cursor = queryValue(req, 'cursor');
    const before = cursor ? decodeCursor(cursor, isSubmissionId) : null;
    const rows = await store.listSubmissions(sha256, before, limit + 1);
    const items: VtObject[] = rows.slice(0, limit).map((s) => (full ? analysisObject(origin(req), s) : { type: 'analysis', id: s.analysisId }));
    return { items, next: rows.length > limit ? encodeCursor(rows[limit - 1]!.id) : undefined };
  }

  /** `relationships=` on a file: the first links of each relationship asked for (spec 1.6). */
  async function embedded(req: FastifyRequest, sha256: string): Promise<Record<string, unknown> | null> {
    const wanted = (queryValue(req, 'relationships') ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    if (wanted.length === 0) return null;
    const out: Record<string, unknown> = {};
    for (const name of wanted) {
      const self = absoluteUrl(origin(req), `/api/v3/files/${sha256}/relationships/${name}`);
      const related = absoluteUrl(origin(req), `/api/v3/files/${sha256}/${name}`);
      if (name in LINKS) {
        const rows = await store.listFileLinks(sha256, LINKS[name as LinkName], null, EMBEDDED_LINKS + 1);
        const links: Record<string, string> = { self, related };
        const meta: Record<string, unknown> = {};
        if (rows.length > EMBEDDED_LINKS) {
          meta.cursor = encodeCursor(rows[EMBEDDED_LINKS - 1]!.file.sha256);
          links.next = absoluteUrl(origin(req), `/api/v3/files/${sha256}/relationships/${name}`, { cursor: meta.cursor as string });
        }
        out[name] = { data: rows.slice(0, EMBEDDED_LINKS).map((l) => ({ type: 'file', id: l.file.sha256 })), meta, links };
      } else if (name === 'analyses') {
        const page = await analysisPage(req, sha256, false, EMBEDDED_LINKS);
        out[name] = {
          data: page.items, meta: page.next ? { cursor: page.next } : {},
          links: { self, related, ...(page.next ? { next: absoluteUrl(origin(req), `/api/v3/files/${sha256}/relationships/${name}`, { cursor: page.next }) } : {}) },
        };
      } else if (EMPTY_RELATIONSHIPS.includes(name)) {
        out[name] = { data: [], meta: {}, links: { self, related } };
      }
    }
    return out;
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

    app.get<{ Params: { id: string } }>('/files/:id', async (req) => {
      const f = await findFile(req.params.id);
      const relationships = await embedded(req, f.sha256);
      return { data: { ...fileObject(origin(req), f), ...(relationships ? { relationships } : {}) } };
    });

    for (const full of [true, false]) {
      const prefix = full ? '/files/:id' : '/files/:id/relationships';
      for (const name of Object.keys(LINKS) as LinkName[]) {
        app.get<{ Params: { id: string } }>(`${prefix}/${name}`, async (req) => {
          const f = await findFile(req.params.id);
          return collection(req, origin(req), await linkPage(req, f.sha256, name, full, parseLimit(queryValue(req, 'limit'))));
        });
      }
      app.get<{ Params: { id: string } }>(`${prefix}/analyses`, async (req) => {
        const f = await findFile(req.params.id);
        return collection(req, origin(req), await analysisPage(req, f.sha256, full, parseLimit(queryValue(req, 'limit'))));
      });
      for (const name of EMPTY_RELATIONSHIPS) {
        app.get<{ Params: { id: string } }>(`${prefix}/${name}`, async (req) => {
          await findFile(req.params.id);
          return collection(req, origin(req), { items: [] });
        });
      }
    }

    // Re-analysis (VirusTotal's spelling, `analyse`): the stored file is analysed and hunted again;
    // the answer is an analysis descriptor to poll, as an upload's is.
    app.post<{ Params: { id: string } }>('/files/:id/analyse', async (req) => {
      if (!HASH.test(req.params.id)) throw objectNotFound('File', req.params.id);
      return analysisRef((await intake.reanalyze(req.user, req.params.id, { headers: req.headers, ip: req.ip })).analysisId);
    });

    app.get<{ Params: { id: string } }>('/files/:id/download_url', async (req) => {
      const f = await findFile(req.params.id);
      return { data: absoluteUrl(origin(req), `/api/v3/files/${f.sha256}/download`) };
    });

    app.get<{ Params: { id: string } }>('/files/:id/download', async (req, reply) => {
      const f = await findFile(req.params.id);
      // One byte range (`Range: bytes=a-b`, `a-`, `-n`) resumes a large download; anything else
      // gets the whole file, as HTTP allows.
      const range = byteRange(req.headers.range, f.size);
      if (range === 'unsatisfiable') {
        return reply.code(416).header('content-range', `bytes */${f.size}`).send();
      }
      // A download counts once: a range from byte 0 or none (resuming one is free).
      const giveBack = !range || range.start === 0 ? await deps.quotas.take(req.user, 'intelligence_downloads_monthly') : null;
      const stream = await blobs.read(f.sha256, range ?? undefined);
      if (!stream) {
        await giveBack?.();
        throw new TrawlError('NotFoundError', `content of file "${f.sha256}" is not available`);
      }
      if (range) reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${f.size}`);
      return reply
        .type('application/octet-stream')
        .header('accept-ranges', 'bytes')
        .header('content-length', range ? range.end - range.start + 1 : f.size)
        .header('content-disposition', `attachment; filename="${f.sha256}"`)
        .send(stream);
    });
  };
}

/** The single byte range a Range header asks for; null for the whole file (no header, or one this does not serve). */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | null | 'unsatisfiable' {
  const m = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    // The last n bytes.
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return 'unsatisfiable';
  return { start, end };
}
