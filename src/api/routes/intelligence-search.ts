// /api/v3/intelligence/search: content searches (content-index/content-search.ts) and their
// snippets, and searches by hashes and modifiers (search/file-search.ts). Every stored file is
// anyone's to find, as /files/{id} is.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TrawlError, notFound } from '../../model/errors.js';
import type { ApiDeps } from '../app.js';
import { clientSignal } from '../client-signal.js';
import { boolParam, collection, decodeCursor, encodeCursor, isSha256, originOf, parseLimit, queryValue } from '../envelope.js';
import { contentSearchItem, parseSnippetId } from '../serializers/content-search.js';
import { fileObject } from '../serializers/file.js';
import { FileSearch, isSearchCursor } from '../../search/file-search.js';

/** A `content:` term anywhere (negated or in parentheses too): the query is a content search. */
const CONTENT_TERM = /(^|[\s(-])content:/i;

export function intelligenceSearchRoutes(deps: ApiDeps) {
  const { contentSearch, config } = deps;
  const fileSearch = new FileSearch(deps.store);
  const origin = (req: FastifyRequest) => originOf(req, config.publicUrl);

  return async (app: FastifyInstance) => {
    app.get('/intelligence/search', async (req, reply) => {
      const query = queryValue(req, 'query') ?? '';
      const cursor = queryValue(req, 'cursor');
      const limit = parseLimit(queryValue(req, 'limit'), 40);
      // Content searches keep their own syntax and pages; one mixing in other modifiers is
      // refused there (UnsupportedContentQueryError names the term).
      if (!CONTENT_TERM.test(query)) {
        const after = cursor ? decodeCursor(cursor, isSearchCursor) : null;
        const page = await fileSearch.search({ query, order: queryValue(req, 'order'), after, limit, userId: req.user.id, signal: clientSignal(reply) });
        const descriptors = boolParam(req, 'descriptors_only');
        const items = page.files.map((f) => (descriptors ? { type: 'file', id: f.sha256 } : fileObject(origin(req), f)));
        return collection(req, origin(req), { items, ...(page.next ? { next: encodeCursor(page.next) } : {}) });
      }
      const after = cursor ? decodeCursor(cursor, isSha256) : null;
      const descriptorsOnly = boolParam(req, 'descriptors_only');
      // Lane: one user's searches wait for each other on the search threads, not for another user's.
      const page = await contentSearch.search(query, { after, limit }, clientSignal(reply), `user:${req.user.id}`);
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
