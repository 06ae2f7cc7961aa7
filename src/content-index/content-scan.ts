// The CPU side of a content search, as its thread runs it (content-search-thread.ts): the
// query's rule compiled (once per thread), the content index narrowed to candidates, and a batch
// of candidates read and scanned until the page is over. The API's event loop only reads the
// database, resolves blob paths and keeps the page's account (content-search.ts), so that other
// requests keep their latency while searches run.
import { readFileSync } from 'node:fs';
import { unsupportedContentQuery } from '../model/errors.js';
import { loadYaraX, type YaraRules } from '../hunting/engine/yara-x.js';
import { narrow, SegmentReaders, type IndexSnapshot, type PackedCandidates } from './content-index.js';
import type { ContentQuery } from './content-query.js';
import type { GramQuery } from './gram-query.js';

/** Where a term matched a file: what a snippet shows. */
export interface MatchRange {
  offset: number;
  length: number;
}

/** The engine checks its timeout once a second: one second is the least a scan can be given. */
const SCAN_TIMEOUT_MS = 1000;
const COMPILE_OPTIONS = { relaxedReSyntax: true, enableIncludes: false };
/** Compiled rules kept per thread: a search's pages compile their rule once (~3 ms each time otherwise). */
const KEPT_RULES = 32;

/** The engine's error as one line: `syntax error: expecting ..., found ...`. */
function engineMessage(err: unknown): string {
  const lines = String((err as Error).message ?? err).split('\n');
  const head = (lines[0] ?? '').replace(/^Compilation error \([^)]*\):\s*/, '').replace(/^error\[\w+\]:\s*/, '').replace(/ `\$t\d+`/, '');
  const caret = lines.map((l) => /^\s*\|\s*\^+\s*(.*)$/.exec(l)?.[1]).filter(Boolean).pop();
  return caret ? `${head}: ${caret}` : head;
}

/** Compiles the query's rule; a term the engine refuses is UnsupportedContentQueryError, named. */
export function compileContentQuery(q: Pick<ContentQuery, 'rule' | 'terms'>): YaraRules {
  const yx = loadYaraX();
  try {
    return yx.compile(q.rule, COMPILE_OPTIONS);
  } catch (err) {
    for (const t of q.terms) {
      try {
        yx.compile(`rule t { strings: $t0 = ${t.pattern} condition: $t0 }`, COMPILE_OPTIONS);
      } catch (termErr) {
        throw unsupportedContentQuery(`${t.source}: ${engineMessage(termErr)}`);
      }
    }
    throw unsupportedContentQuery(engineMessage(err));
  }
}

/** Now, in milliseconds since the epoch: comparable between threads (performance.now() is not). */
export const wallNow = () => performance.timeOrigin + performance.now();

/** A page's account, as the thread needs it to stop where the page would. */
export interface PageState {
  /** When the page started (wallNow()). */
  startedAt: number;
  limit: number;
  pageMs: number;
  emptyPageMs: number;
  /** Matches found by the page so far. */
  matches: number;
  /** Whether the page examined a file already (a page examines one at least, so that every page moves on). */
  examined: boolean;
}

/** Whether the page is over: enough matches, its time spent (more of it while no match is in hand), or its client gone. */
export function pageOver(p: PageState, aborted: boolean): boolean {
  if (!p.examined) return false;
  const spent = wallNow() - p.startedAt;
  return p.matches >= p.limit || spent > (p.matches > 0 ? p.pageMs : p.emptyPageMs) || aborted;
}

/**
 * A candidate as the thread gets it: null when it has no file record (in the index, not yet a
 * file: nothing to show), `path` null when it is not to be scanned (over maxScanBytes, or not in
 * the blob store).
 */
export type ScanEntry = { path: string | null } | null;

/**
 * What became of each candidate examined: 'absent' (no record), 'skipped' (not scanned: too
 * large, gone, or its scan timed out), null (scanned, some term not in it), or the first match of
 * each term.
 */
export type ScanOutcome = 'absent' | 'skipped' | null | MatchRange[];

export interface CompileTask {
  kind: 'content-compile';
  query: Pick<ContentQuery, 'rule' | 'terms'>;
}

export interface CandidatesTask {
  kind: 'content-candidates';
  grams: GramQuery;
  snap: IndexSnapshot;
}

export interface ScanTask {
  kind: 'content-scan';
  query: Pick<ContentQuery, 'rule' | 'terms'>;
  files: ScanEntry[];
  page: PageState;
  /** Set to 1 (by the API's thread) when the client is gone: the batch stops at the next file. */
  abort: Int32Array;
}

/** One thread's state: its compiled rules and open segments. */
export class ContentScanner {
  private readonly rules = new Map<string, YaraRules>();
  private readonly readers = new SegmentReaders();

  /** The rule of `q`, compiled once; throws UnsupportedContentQueryError. */
  compile(q: Pick<ContentQuery, 'rule' | 'terms'>): YaraRules {
    let r = this.rules.get(q.rule);
    if (r) {
      // Most recently used last: the first is the one to drop.
      this.rules.delete(q.rule);
    } else {
      r = compileContentQuery(q);
      r.setMaxMatchesPerPattern(1);
      r.setTimeout(SCAN_TIMEOUT_MS);
      if (this.rules.size >= KEPT_RULES) this.rules.delete(this.rules.keys().next().value!);
    }
    this.rules.set(q.rule, r);
    return r;
  }

  candidates(t: CandidatesTask): PackedCandidates {
    return narrow(t.grams, t.snap, this.readers);
  }

  /** The outcomes of `t.files` in order, up to where the page is over (one file at least). */
  scan(t: ScanTask): ScanOutcome[] {
    const rules = this.compile(t.query);
    const page = { ...t.page };
    const out: ScanOutcome[] = [];
    for (const entry of t.files) {
      if (pageOver(page, Atomics.load(t.abort, 0) === 1)) break;
      page.examined = true;
      const outcome = entry === null ? 'absent' : entry.path === null ? 'skipped' : scanFile(rules, entry.path, t.query.terms.length);
      if (Array.isArray(outcome)) page.matches++;
      out.push(outcome);
    }
    return out;
  }
}

/** The first match of each term in the file at `path`; null when some term is not in it. */
function scanFile(rules: YaraRules, path: string, terms: number): ScanOutcome {
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return 'skipped'; // removed under us (a cache eviction): as gone
  }
  let found;
  try {
    found = rules.scan(data);
  } catch {
    return 'skipped'; // timed out
  }
  const first = new Map<string, MatchRange>();
  for (const m of found[0]?.matches ?? []) {
    const seen = first.get(m.identifier);
    if (!seen || m.offset < seen.offset) first.set(m.identifier, { offset: m.offset, length: m.length });
  }
  const ranges = Array.from({ length: terms }, (_, i) => first.get(`$t${i}`));
  return ranges.every((r) => r !== undefined) ? (ranges as MatchRange[]) : null;
}
