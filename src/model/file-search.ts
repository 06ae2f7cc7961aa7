// A parsed Intelligence search over stored files (`GET /intelligence/search`): the boolean tree
// of modifiers that search/search-query.ts reads from the query text and the store answers.

/** A bound of a range modifier: `size:10kb+` is `{ op: '>=', value: 10240 }`. */
export interface Bound {
  op: '=' | '>=' | '<=' | '<';
  value: number;
}

/** One modifier, its value already checked and normalised (hashes and words lower-case). */
export type SearchTerm =
  | { kind: 'hash'; column: 'md5' | 'sha1' | 'sha256'; value: string }
  /** type_tag, one of type_tags, or type_extension equals the value. */
  | { kind: 'type'; value: string }
  | { kind: 'size'; bound: Bound }
  /** first (fs) or last (ls) submission date, UNIX seconds. */
  | { kind: 'fs' | 'ls'; bound: Bound }
  | { kind: 'submissions'; bound: Bound }
  /** Substrings, case-insensitive (ASCII). */
  | { kind: 'name' | 'magic'; value: string }
  /** One of the file's tags, exactly. */
  | { kind: 'tag'; value: string }
  /** Files extracted from another (true) or not (false). */
  | { kind: 'bundled'; value: boolean }
  /** Files extracted from the file with this hash (any of the three). */
  | { kind: 'parent'; column: 'md5' | 'sha1' | 'sha256'; value: string }
  /** Files a rule of this name matched in the searcher's own hunting notifications. */
  | { kind: 'rule'; value: string };

export type SearchExpr =
  | { kind: 'and' | 'or'; items: SearchExpr[] }
  | { kind: 'not'; item: SearchExpr }
  | { kind: 'term'; term: SearchTerm };

/** The orders VirusTotal's file search takes (`order=`), each by its attribute name. */
export const SEARCH_ORDER_FIELDS = ['last_submission_date', 'first_submission_date', 'size', 'times_submitted'] as const;
export type SearchOrderField = (typeof SEARCH_ORDER_FIELDS)[number];

export interface SearchOrder {
  field: SearchOrderField;
  dir: 'asc' | 'desc';
}

/** Where a page starts: strictly after this file in the order (its sort value and sha256). */
export interface SearchPosition {
  value: number;
  sha256: string;
}

/** A page of a search, as the store reads it. */
export interface FileSearchQuery {
  expr: SearchExpr;
  order: SearchOrder;
  after: SearchPosition | null;
  limit: number;
  /** The searcher: `crowdsourced_yara_rule:` reads their own notifications only. */
  userId: number;
}
