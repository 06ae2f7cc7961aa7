// Which corpora a files row is in (records.ts Corpus; columns of migration 0014): the flags a new
// row gets, the one an existing row sets to join a corpus, and the condition selecting a corpus.
import { sql } from 'kysely';
import type { Corpus } from '../store.js';

/** The corpus columns of a new files row: in `corpus` alone. */
export function corpusFlags(corpus: Corpus): { in_main: number; in_goodware: number } {
  return { in_main: corpus === 'main' ? 1 : 0, in_goodware: corpus === 'goodware' ? 1 : 0 };
}

/** The column an existing files row sets to join `corpus`; it stays in any other. */
export function joinCorpus(corpus: Corpus): { in_main: number } | { in_goodware: number } {
  return corpus === 'goodware' ? { in_goodware: 1 } : { in_main: 1 };
}

/**
 * The files of `corpus`, as a condition on the files table. The 1 is a literal, not a parameter:
 * only then do SQLite and PostgreSQL's generic plans use the partial index of goodware files.
 */
export function inCorpus(corpus: Corpus) {
  return sql<boolean>`${sql.ref(corpus === 'goodware' ? 'files.in_goodware' : 'files.in_main')} = ${sql.lit(1)}`;
}
