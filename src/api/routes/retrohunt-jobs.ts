// /api/v3/intelligence/retrohunt_jobs and /users/{id}/retrohunt_jobs (spec 5.2): thin HTTP glue
// over hunting/retrohunt/retrohunt-jobs.ts.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { badRequest } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { requireSelf } from '../auth.js';
import { collection, decodeCursor, encodeCursor, originOf, parseLimit, queryValue } from '../envelope.js';
import { fileObject } from '../serializers/file.js';
import { retrohuntJobObject, retrohuntMatchContext } from '../serializers/retrohunt-job.js';

type WithId = { Params: { id: string } };
type JobAfter = { date: number; id: string };
type MatchAfter = { sha256: string; rule: string };
const isJobAfter = (v: unknown): v is JobAfter =>
  !!v && typeof v === 'object' && Number.isSafeInteger((v as JobAfter).date) && typeof (v as JobAfter).id === 'string';
const isMatchAfter = (v: unknown): v is MatchAfter =>
  !!v && typeof v === 'object' && typeof (v as MatchAfter).sha256 === 'string' && typeof (v as MatchAfter).rule === 'string';

/** `{"data": {"type": "retrohunt_job", "attributes": {...}}}`. */
function bodyAttributes(body: unknown): unknown {
  const data = (body as { data?: unknown } | undefined)?.data;
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw badRequest('expected a body {"data": {"type": "retrohunt_job", "attributes": {"rules": ...}}}');
  const d = data as { type?: unknown; attributes?: unknown };
  if (d.type !== undefined && d.type !== 'retrohunt_job') throw badRequest(`expected an object of type "retrohunt_job", got "${String(d.type)}"`);
  return d.attributes ?? {};
}

export function retrohuntJobRoutes(deps: ApiDeps) {
  const { retrohunts, config } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  async function listPage(req: FastifyRequest, full: boolean) {
    const cursor = queryValue(req, 'cursor');
    const page = await retrohunts.list(req.user, {
      filter: queryValue(req, 'filter'),
      limit: parseLimit(queryValue(req, 'limit'), 100),
      ...(cursor ? { after: decodeCursor(cursor, isJobAfter) } : {}),
    });
    const items = page.items.map((j) => (full ? retrohuntJobObject(origin(req), j) : { type: 'retrohunt_job', id: j.id }));
    return collection(req, origin(req), { items, next: page.next && encodeCursor(page.next) }, { count: page.count });
  }

  return async (app: FastifyInstance) => {
    const base = '/intelligence/retrohunt_jobs';
    app.get(base, (req) => listPage(req, true));
    app.post(base, async (req) => {
      // Counted before the job is made (exact across processes), given back when it is refused.
      const giveBack = await deps.quotas.take(req.user, 'intelligence_retrohunt_jobs_monthly');
      try {
        return { data: retrohuntJobObject(origin(req), await retrohunts.create(req.user, bodyAttributes(req.body))) };
      } catch (e) {
        await giveBack();
        throw e;
      }
    });
    app.get<WithId>(`${base}/:id`, async (req) => ({ data: retrohuntJobObject(origin(req), await retrohunts.visible(req.user, req.params.id)) }));
    app.delete<WithId>(`${base}/:id`, async (req) => {
      await retrohunts.delete(req.user, req.params.id);
      return {};
    });
    // vt-cli sends an empty body with Content-Type: application/json (spec 1.9).
    app.post<WithId>(`${base}/:id/abort`, async (req) => ({ data: retrohuntJobObject(origin(req), await retrohunts.abort(req.user, req.params.id)) }));
    for (const full of [true, false]) {
      app.get<WithId>(`${base}/:id/${full ? '' : 'relationships/'}matching_files`, async (req) => {
        const cursor = queryValue(req, 'cursor');
        const page = await retrohunts.matches(req.user, req.params.id, cursor ? decodeCursor(cursor, isMatchAfter) : undefined, parseLimit(queryValue(req, 'limit'), 100));
        const items = page.items.map(({ match, file }) => ({
          ...(full ? fileObject(origin(req), file) : { type: 'file', id: file.sha256 }),
          context_attributes: retrohuntMatchContext(match),
        }));
        return collection(req, origin(req), { items, next: page.next && encodeCursor(page.next) });
      });
      // Owner-only, like every user relationship.
      app.get<WithId>(`/users/:id/${full ? '' : 'relationships/'}retrohunt_jobs`, async (req) => {
        requireSelf(req, req.params.id);
        return listPage(req, full);
      });
    }
  };
}
