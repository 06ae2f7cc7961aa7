// Retrohunt jobs (spec 5): a user's rules run once over the stored files, as records the store
// keeps and the API serializes.
import type { Corpus } from './records.js';

/** spec 5.1 statuses. A job waits as `starting` until it runs (queued past the per-user limit too). */
export type RetrohuntStatus = 'starting' | 'running' | 'aborting' | 'aborted' | 'finished';

/**
 * Jobs of one user that run (or are queued to run) at once (spec 5.3); later ones wait as
 * `starting` and start as earlier ones end.
 */
export const MAX_ACTIVE_RETROHUNT_JOBS = 10;

/** Rules one job may hold (spec 5.3). */
export const MAX_RETROHUNT_RULES = 300;

/** The durable job that runs a retrohunt job, and its lane (in the runner and the pool). */
export const RETROHUNT_JOB_KIND = 'retrohunt';
export const RETROHUNT_LANE = 'retrohunt';

/**
 * The durable job that e-mails a job's notification_email once it ended (finished or aborted),
 * queued by the transaction that ends it; it runs in the lane of the hunting e-mails.
 */
export const RETROHUNT_EMAIL_JOB_KIND = 'retrohunt-email';
export const EMAIL_LANE = 'email';

/** Longest abort reason kept: an engine's compile errors can run to pages. */
const MAX_REASON = 1000;
const bounded = (text: string) => (text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}...` : text);

/** Why a job was aborted, as `trawl_abort_reason` tells it (docs/api.md lists them). */
export const abortReasons = {
  user: 'aborted by user',
  rulesDoNotCompile: (error: string) => bounded(`rules no longer compile: ${error}`),
  failedEveryAttempt: (error: string) => bounded(`failed every attempt: ${error}`),
} as const;

export const RETROHUNT_STATUSES: readonly RetrohuntStatus[] = ['starting', 'running', 'aborting', 'aborted', 'finished'];

export interface NewRetrohuntJob {
  ownerId: number;
  /** The id is `<username>-<creationDate>` (with `-2`, `-3`, ... when taken). */
  username: string;
  rules: string;
  notificationEmail: string | null;
  /** The files it scans (records.ts Corpus). */
  corpus: Corpus;
  /** Files whose first_submission_date is within [start, end] (UNIX seconds) are scanned. */
  timeRange: { start: number; end: number };
  creationDate: number;
}

export interface RetrohuntJobRecord {
  id: string;
  ownerId: number;
  rules: string;
  notificationEmail: string | null;
  corpus: Corpus;
  timeRange: { start: number; end: number };
  status: RetrohuntStatus;
  /** Percent of the corpus scanned (0-100). */
  progress: number;
  etaSeconds: number;
  scannedBytes: number;
  /** Files scanned so far. */
  scannedFiles: number;
  /** Files in the time range when the job started (0 before). */
  totalFiles: number;
  /** Matches stored: one per (file, rule). */
  numMatches: number;
  creationDate: number;
  startDate: number | null;
  finishDate: number | null;
  /** The last sha256 scanned: a job resumes after it. */
  cursor: string | null;
  /** Whether a durable `retrohunt` job was queued for it (jobs past the per-user limit wait without one). */
  dispatched: boolean;
  /** Why it was aborted (abortReasons); null unless it is aborting or aborted. */
  abortReason: string | null;
}

/**
 * A job as a running job re-reads it after each batch: everything but its rules (a rule
 * collection's text is hundreds of KB, re-read and copied between threads per batch for nothing).
 */
export type RetrohuntJobState = Omit<RetrohuntJobRecord, 'rules'>;

/** One rule that matched one file. */
export interface RetrohuntMatch {
  sha256: string;
  rule: string;
  /** Spec 3.5 hexdump; null when the rule matched on its condition alone. */
  snippet: string | null;
  /** The file is known only as a member of containers (never submitted itself). */
  matchInSubfile: boolean;
}

/** What a batch of a running job adds (RetrohuntStore.recordRetrohuntProgress). */
export interface RetrohuntProgress {
  cursor: string;
  scannedFiles: number;
  scannedBytes: number;
  progress: number;
  etaSeconds: number;
  matches: RetrohuntMatch[];
}
