// Subfiles as queries (used by sql-store.ts): files extracted from containers, stored with the
// analysis that found them, and the parent/child links behind bundled_files and
// compressed_parents (spec 6.2).
import type { Kysely } from 'kysely';
import type { Corpus, FileAnalysis, FileLink, NewSubfile } from '../store.js';
import { corpusFlags, joinCorpus } from './corpus.js';
import { toFile } from './rows.js';
import type { Database } from './schema.js';

/** The columns a successful analysis sets on a files row. */
export function analysisColumns(a: FileAnalysis, date: number) {
  return {
    magic: a.magic, type_description: a.typeDescription, type_tag: a.typeTag,
    type_tags: JSON.stringify(a.typeTags), type_extension: a.typeExtension,
    tags: JSON.stringify(a.tags), bundle_info: a.bundleInfo ? JSON.stringify(a.bundleInfo) : null,
    last_analysis_date: date,
    // A successful analysis ends the failure of an earlier one.
    analysis_error: null,
  };
}

const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/**
 * Inside transaction `tx`: creates or updates the files row of each subfile and links it to its
 * parents. A subfile seen for the first time was never submitted: times_submitted and
 * unique_sources stay 0 until someone uploads it; its submission dates are those of the upload
 * that contained it. Its names are the base names it had inside its containers. Each joins
 * `corpus`, the submission's, and stays in any other it was in.
 */
export async function storeSubfiles(tx: Kysely<Database>, subfiles: readonly NewSubfile[], date: number, corpus: Corpus): Promise<void> {
  for (const s of subfiles) {
    const names = [...new Set(s.parents.map((p) => baseName(p.name)).filter(Boolean))];
    const row = await tx.selectFrom('files').select('names').where('sha256', '=', s.sha256).executeTakeFirst();
    if (row) {
      const known = JSON.parse(row.names) as string[];
      const merged = [...known, ...names.filter((n) => !known.includes(n))];
      await tx.updateTable('files').set((eb) => ({ ...analysisColumns(s.analysis, date), names: JSON.stringify(merged), revision: eb('revision', '+', 1), ...joinCorpus(corpus) }))
        .where('sha256', '=', s.sha256).execute();
    } else {
      await tx.insertInto('files').values({
        sha256: s.sha256, sha1: s.sha1, md5: s.md5, size: s.size, names: JSON.stringify(names),
        first_submission_date: date, last_submission_date: date, times_submitted: 0, unique_sources: 0,
        ...analysisColumns(s.analysis, date), ...corpusFlags(corpus),
      }).execute();
    }
    for (const p of s.parents) {
      await tx.insertInto('file_children').values({ parent_sha256: p.sha256, child_sha256: s.sha256, name: p.name })
        .onConflict((oc) => oc.columns(['parent_sha256', 'child_sha256']).doNothing()).execute();
    }
  }
}

/** A page of children (or parents) of a file, ordered by the related file's sha256. */
export async function links(
  db: Kysely<Database>, sha256: string, direction: 'children' | 'parents', after: string | null, limit: number,
): Promise<FileLink[]> {
  const [self, other] = direction === 'children' ? (['parent_sha256', 'child_sha256'] as const) : (['child_sha256', 'parent_sha256'] as const);
  let q = db.selectFrom('file_children').innerJoin('files', 'files.sha256', `file_children.${other}`)
    .selectAll('files').select('file_children.name as link_name')
    .where(`file_children.${self}`, '=', sha256);
  if (after) q = q.where(`file_children.${other}`, '>', after);
  const rows = await q.orderBy(`file_children.${other}`).limit(limit).execute();
  return rows.map(({ link_name, ...file }) => ({ file: toFile(file), name: link_name }));
}
