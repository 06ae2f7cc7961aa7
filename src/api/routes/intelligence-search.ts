// /api/v3/intelligence/search: content searches (content-index/content-search.ts), and the
// snippets of their results. Every stored file is anyone's to find, as /files/{id} is.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, notFound } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { clientSignal } from '../client-signal.js';
import { boolParam, collection, decodeCursor, encodeCursor, isSha256, originOf, parseLimit, queryValue } from '../envelope.js';
import { contentSearchItem, parseSnippetId } from '../serializers/content-search.js';

export function intelligenceSearchRoutes(deps: ApiDeps) {
  const { contentSearch, config } = deps;
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  return async (app: FastifyInstance) => {
    app.get('/intelligence/search', async (req, reply) => {
      const cursor = queryValue(req, 'cursor');
      const after = cursor ? decodeCursor(cursor, isSha256) : null;
      const descriptorsOnly = boolParam(req, 'descriptors_only');
      const page = await contentSearch.search(queryValue(req, 'query') ?? '', { after, limit: parseLimit(queryValue(req, 'limit'), 40) }, clientSignal(reply));
      req.log.debug({ candidates: page.candidates, scanned: page.scanned, skipped: page.skipped, matches: page.matches.length }, 'content search page');
      const next = page.next === null ? undefined : encodeCursor(page.next);
      // A page is never empty with a cursor (vt-py would crash, vt-go would stop as if done).
      if (page.matches.length === 0 && next) {
        throw new TrawlError('DeadlineExceededError', `no match found in time among ${page.candidates} candidate files; narrow the query, or go on from cursor=${next}`);
      }
      return collection(req, origin(req), { items: page.matches.map((m) => contentSearchItem(origin(req), m, descriptorsOnly)), ...(next ? { next } : {}) });
    });

    app.get<{ Params: { id: string } }>('/intelligence/search/snippets/:id', async (req) => {
      const ref = parseSnippetId(req.params.id);
      const snippets = ref && (await contentSearch.snippets(ref.sha256, ref.ranges));
      if (!snippets) throw notFound(`Snippet with id "${req.params.id.slice(0, 200)}" not found`);
      return { data: snippets };
    });
  };
}
