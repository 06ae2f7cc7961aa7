// The content index's rows (ContentIndexStore): each file's state in the index, the trigrams of
// files indexed since the last segment was made, and the segments. A file moves one way only:
// not indexed (0) -> pending (1, a row here) -> in a segment (1, its pending row gone). Readers
// that list the files not indexed, then pending rows, then segments, in that order, see every
// file at least once whatever commits between their reads (content-index/content-index.ts).
import type { Kysely, Selectable } from 'kysely';
import type { ContentIndexSegment, FileGrams, NewContentIndexSegment, PendingGrams } from '../../model/content-index.js';
import type { ContentIndexSegmentsTable, Database } from './schema.js';

/** files.content_index */
export const NOT_INDEXED = 0;
export const INDEXED = 1;
export const NOT_INDEXABLE = 2;

function toSegment(r: Selectable<ContentIndexSegmentsTable>): ContentIndexSegment {
  return {
    id: Number(r.id), blob: r.blob, files: Number(r.files), bytes: Number(r.bytes), level: Number(r.level),
    createdAt: Number(r.created_at), retiredAt: r.retired_at === null ? null : Number(r.retired_at),
  };
}

/**
 * Inside the caller's transaction: records the trigrams of files not indexed yet (null grams:
 * not indexable). A file indexed already keeps its entry. Returns how many were recorded.
 */
export async function indexFiles(tx: Kysely<Database>, files: readonly FileGrams[]): Promise<number> {
  let n = 0;
  // Two statements per state whatever the number of files: an analysis stores a file and its
  // subfiles (thousands for some archives) in one transaction.
  for (const state of [INDEXED, NOT_INDEXABLE]) {
    const of = files.filter((f) => (f.grams !== null) === (state === INDEXED));
    for (let i = 0; i < of.length; i += 500) {
      const chunk = of.slice(i, i + 500);
      const taken = new Set((await tx.updateTable('files').set({ content_index: state })
        .where('sha256', 'in', chunk.map((f) => f.sha256)).where('content_index', '=', NOT_INDEXED)
        .returning('sha256').execute()).map((r) => r.sha256));
      n += taken.size;
      const rows = chunk.filter((f) => taken.has(f.sha256) && f.grams).map((f) => ({ sha256: f.sha256, grams: f.grams! }));
      // A file walked twice in one analysis (the same member in two places) is recorded once.
      const once = [...new Map(rows.map((r) => [r.sha256, r])).values()];
      for (let j = 0; j < once.length; j += 100) await tx.insertInto('content_index_pending').values(once.slice(j, j + 100)).execute();
    }
  }
  return n;
}

/** Of `sha256s`, the files past "not indexed" (indexed, or not indexable). */
export async function indexed(db: Kysely<Database>, sha256s: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < sha256s.length; i += 500) {
    const rows = await db.selectFrom('files').select('sha256').where('sha256', 'in', sha256s.slice(i, i + 500)).where('content_index', '<>', NOT_INDEXED).execute();
    out.push(...rows.map((r) => r.sha256));
  }
  return out;
}

/** Files every search scans: not indexed (yet) or not indexable, sha256 ascending after `after`. */
export async function unindexed(db: Kysely<Database>, after: string | null, limit: number): Promise<string[]> {
  let q = db.selectFrom('files').select('sha256').where('content_index', '<>', INDEXED);
  if (after) q = q.where('sha256', '>', after);
  return (await q.orderBy('sha256').limit(limit).execute()).map((r) => r.sha256);
}

/**
 * Files analysed that the index never looked at: stored before it, or analysed by a process
 * that does not index (for the job that indexes them). Files waiting for their analysis are
 * left to it.
 */
export async function toIndex(db: Kysely<Database>, after: string | null, limit: number): Promise<{ sha256: string; size: number }[]> {
  let q = db.selectFrom('files').select(['sha256', 'size']).where('content_index', '=', NOT_INDEXED).where('last_analysis_date', 'is not', null);
  if (after) q = q.where('sha256', '>', after);
  return (await q.orderBy('sha256').limit(limit).execute()).map((r) => ({ sha256: r.sha256, size: Number(r.size) }));
}

export async function pending(db: Kysely<Database>, afterSeq: number, limit: number): Promise<PendingGrams[]> {
  const rows = await db.selectFrom('content_index_pending').select(['id', 'sha256', 'grams'])
    .where('id', '>', afterSeq).orderBy('id').limit(limit).execute();
  return rows.map((r) => ({ seq: Number(r.id), sha256: r.sha256, grams: new Uint8Array(r.grams) }));
}

export async function countPending(db: Kysely<Database>): Promise<{ files: number; bytes: number }> {
  const r = await db.selectFrom('content_index_pending')
    .select((eb) => [eb.fn.countAll<number | string>().as('n'), eb.fn.sum<number | string | null>(eb.fn('length', ['grams'])).as('b')])
    .executeTakeFirstOrThrow();
  return { files: Number(r.n), bytes: Number(r.b ?? 0) };
}

/** Live segments (retired: false), or those retired before `before` (retired: true), oldest first. */
export async function segments(db: Kysely<Database>, retiredBefore?: number): Promise<ContentIndexSegment[]> {
  let q = db.selectFrom('content_index_segments').selectAll();
  q = retiredBefore === undefined ? q.where('retired_at', 'is', null) : q.where('retired_at', '<', retiredBefore);
  return (await q.orderBy('id').execute()).map(toSegment);
}

/**
 * Adds a segment made of the pending rows `seqs` and of the segments `replaces`, in one
 * transaction: they leave the index as it enters. Segments replaced are retired, not deleted.
 */
export async function addSegment(tx: Kysely<Database>, s: NewContentIndexSegment, seqs: readonly number[], replaces: readonly number[], now: number): Promise<ContentIndexSegment> {
  const row = await tx.insertInto('content_index_segments')
    .values({ blob: s.blob, files: s.files, bytes: s.bytes, level: s.level, created_at: now, retired_at: null })
    .returningAll().executeTakeFirstOrThrow();
  for (let i = 0; i < seqs.length; i += 500) {
    await tx.deleteFrom('content_index_pending').where('id', 'in', seqs.slice(i, i + 500)).execute();
  }
  if (replaces.length > 0) {
    await tx.updateTable('content_index_segments').set({ retired_at: now }).where('id', 'in', [...replaces]).where('retired_at', 'is', null).execute();
  }
  return toSegment(row);
}

/** The settings key of the index's epoch: see reset(). */
const EPOCH_KEY = 'content_index_epoch';

/**
 * The index's epoch: a reset moves files backwards (out of segments to not indexed), which the
 * readers' order cannot see safely, so a reader compares the epoch before and after it reads.
 */
export async function epoch(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', EPOCH_KEY).executeTakeFirst();
  return Number(row?.value ?? 0);
}

/**
 * Inside the caller's transaction: starts the index over (a segment was found unreadable, or of
 * an older format): every live segment retired, pending rows dropped, every indexed file not
 * indexed again (so searches scan it, and the upkeep's catch-up indexes it anew), the epoch
 * moved on. Returns the files to index again.
 */
export async function reset(tx: Kysely<Database>, now: number): Promise<number> {
  await tx.updateTable('content_index_segments').set({ retired_at: now }).where('retired_at', 'is', null).execute();
  await tx.deleteFrom('content_index_pending').execute();
  const r = await tx.updateTable('files').set({ content_index: NOT_INDEXED }).where('content_index', '=', INDEXED).executeTakeFirst();
  const next = String((await epoch(tx)) + 1);
  await tx.insertInto('settings').values({ key: EPOCH_KEY, value: next }).onConflict((oc) => oc.column('key').doUpdateSet({ value: next })).execute();
  return Number(r.numUpdatedRows);
}

export async function dropSegments(tx: Kysely<Database>, ids: readonly number[]): Promise<void> {
  if (ids.length > 0) await tx.deleteFrom('content_index_segments').where('id', 'in', [...ids]).execute();
}
