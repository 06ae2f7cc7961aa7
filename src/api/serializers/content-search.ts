// Content search results as vt-cli reads them: File objects with context_attributes `confidence`,
// `snippet` (the id of a snippet, fetched from /intelligence/search/snippets/{id}) and
// `match_in_subfile`. A snippet id carries what the snippet shows: the file and the first match
// of each term (sha256, then offset and length of each as 32-bit integers), base64url.
import type { ContentMatch, MatchRange } from '../../content-index/content-search.js';
import type { VtObject } from '../envelope.js';
import { fileObject } from './file.js';

/** Ranges one snippet id may carry (one per term: content-query.ts MAX_TERMS). */
const MAX_RANGES = 16;
const U32 = 0xffffffff;

export function snippetId(sha256: string, ranges: readonly MatchRange[]): string {
  const b = Buffer.alloc(32 + 8 * ranges.length);
  b.write(sha256, 0, 'hex');
  ranges.forEach((r, i) => {
    b.writeUInt32BE(Math.min(r.offset, U32), 32 + 8 * i);
    b.writeUInt32BE(Math.min(r.length, U32), 36 + 8 * i);
  });
  return b.toString('base64url');
}

/** What snippetId encoded; null for anything it cannot have made. */
export function parseSnippetId(id: string): { sha256: string; ranges: MatchRange[] } | null {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const b = Buffer.from(id, 'base64url');
  const n = (b.length - 32) / 8;
  if (!Number.isInteger(n) || n < 1 || n > MAX_RANGES || b.toString('base64url') !== id) return null;
  const ranges = Array.from({ length: n }, (_, i) => ({ offset: b.readUInt32BE(32 + 8 * i), length: b.readUInt32BE(36 + 8 * i) }));
  return { sha256: b.subarray(0, 32).toString('hex'), ranges };
}

/**
 * A matching file as a search result. `confidence` is always 1 (every result was verified by
 * YARA-X); `match_in_subfile`: the file was never submitted itself, only found in containers.
 */
export function contentSearchItem(origin: string, m: ContentMatch, descriptorsOnly: boolean): VtObject {
  const context_attributes = { confidence: 1, snippet: snippetId(m.file.sha256, m.ranges), match_in_subfile: m.file.timesSubmitted === 0 };
  return descriptorsOnly ? { type: 'file', id: m.file.sha256, context_attributes } : { ...fileObject(origin, m.file), context_attributes };
}
