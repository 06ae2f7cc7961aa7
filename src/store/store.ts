// The store contract: every piece of durable state except file contents (see blobs/).
// Two implementations share one SQL layer (sql/): SQLite (embedded default) and PostgreSQL.
// Semantics every implementation keeps (checked by test/store-contract-*.test.ts, one per area):
// - a resolved write is durable (committed and synced); a rejected one left nothing behind;
// - "not found" is `null` (or `false`), never an exception;
// - failures are TrawlErrors: TransientError when the database is locked or unreachable,
//   or full or read-only (it then says which), AlreadyExistsError on a duplicate.

// The domain records live in model/; the store's contract speaks of them, and passes them on.
import type {
  AnalysisStatus, AnalysisFailure, UserRecord, NewUser, UserPatch, FileAnalysis, BundleInfo, NewSubfile, FileLink,
  FileRecord, NewSubmission, SubmissionRecord, RulesetRecord, RateLimitState, SlowScan, NewRuleset,
  RulesetPatch, RulesetSource, NewNotification, NotificationRecord, StreamEntry,
  NotificationPosition, ProcessRecord, JobQueueStats, Corpus, CommunityScan, CommunityRuleset, CommunityMatch,
} from '../model/records.js';
import type { NewRetrohuntJob, RetrohuntJobRecord, RetrohuntJobState, RetrohuntMatch, RetrohuntProgress, RetrohuntStatus } from '../model/retrohunt.js';
export type { NewRetrohuntJob, RetrohuntJobRecord, RetrohuntJobState, RetrohuntMatch, RetrohuntProgress, RetrohuntStatus } from '../model/retrohunt.js';
import type { NewZipFile, ZipFileOutcome, ZipFileRecord } from '../model/zip-file.js';
export type { NewZipFile, ZipFileOutcome, ZipFileRecord } from '../model/zip-file.js';
import type { FileSearchQuery } from '../model/file-search.js';
export type { FileSearchQuery } from '../model/file-search.js';
import type { GroupMember, GroupRecord, QuotaLimits, QuotaName } from '../model/quotas.js';
export type { GroupMember, GroupRecord, QuotaLimits, QuotaName } from '../model/quotas.js';
/** Whose quotas: a user's own or a group's (shared by its members). */
export type QuotaSubject = { kind: 'user' | 'group'; id: number };
import type { ContentIndexSegment, FileGrams, NewContentIndexSegment, PendingGrams } from '../model/content-index.js';
export type { ContentIndexSegment, FileGrams, NewContentIndexSegment, PendingGrams } from '../model/content-index.js';
export type {
  AnalysisStatus, AnalysisFailure, UserRecord, NewUser, UserPatch, FileAnalysis, BundleInfo, NewSubfile, FileLink,
  FileRecord, NewSubmission, SubmissionRecord, RulesetRecord, RateLimitState, SlowScan, NewRuleset,
  RulesetPatch, RulesetSource, NewNotification, NotificationRecord, StreamEntry,
  NotificationPosition, ProcessRecord, JobQueueStats, Corpus, CommunityScan, CommunityRuleset, CommunityMatch,
} from '../model/records.js';

/**
 * A late scan's community matches on a file: the file's earlier matches of rulesets `rescanned`
 * ('all': every one) are replaced by `scan.matches`; the others stay. A file never scanned with
 * community rules gets `scan` as it is.
 */
export interface CommunityUpdate {
  sha256: string;
  rescanned: number[] | 'all';
  scan: CommunityScan;
}

/** What Store.fileChangesSince returns. */
export interface FileChanges {
  /** Where the next call goes on from. Opaque; valid in every process of the service. */
  cursor: string;
  /** Each file inserted or updated since the cursor given, with its revision then; null when more than asked changed. */
  changes: { sha256: string; revision: number }[] | null;
}

export interface Job {
  id: number;
  kind: string;
  /** JSON-serialisable payload given at enqueue time. */
  payload: Record<string, unknown>;
  /** How many times this job was claimed before (0 on the first run). */
  attempts: number;
  /** See claimJobs. */
  lane: string;
}

/** A job given up on after its last attempt, kept until retried (see JobStore.failJob). */
export interface FailedJob {
  id: number;
  kind: string;
  payload: Record<string, unknown>;
  /** Claims it had when given up on. */
  attempts: number;
  /** The raw error of its last attempt (for operators: it may name server paths). */
  lastError: string;
  /** Epoch milliseconds when it was given up on. */
  failedAt: number;
}

/** How many jobs of each lane a claimer may hold: `caps[lane]`, else `perLane`. */
export interface LaneLimits {
  /** Jobs the claimer holds now, by lane. */
  held: Record<string, number>;
  perLane: number;
  caps?: Record<string, number>;
}

/** A job queued by the transaction that completes an analysis (`followUp`): its work goes on after it. */
export interface FollowUpJob {
  kind: string;
  payload: Record<string, unknown>;
  /** Jobs are claimed from each lane in turn (see claimJobs). */
  lane: string;
}


/** What storing an analysis's notifications did. */
export interface StoredNotifications {
  stored: NotificationRecord[];
  /** Matches dropped because their ruleset was over its `limit`, by ruleset id. */
  rateLimited: Record<number, number>;
  /** Matches dropped because their ruleset was deleted or disabled meanwhile. */
  gone: number;
}

/**
 * Which notifications a list reads. The scope is a union: notifications owned by `ownerIds`, and
 * those of the rulesets `rulesetIds` (shared with the reader). Every other field narrows it.
 */
export interface NotificationQuery {
  scope: { ownerIds: number[]; rulesetIds: number[] };
  /** Every one of these tags (lower-case). */
  tags?: string[];
  /** date >= dateFrom and date < dateTo (UNIX seconds). */
  dateFrom?: number;
  dateTo?: number;
  /** The matched file's sha256. */
  entityId?: string;
  /** Only these rulesets (IoC Stream `source_id:`). */
  sourceIds?: number[];
  order: 'asc' | 'desc';
  /** Start strictly after this position (in `order`). */
  after?: NotificationPosition;
  limit: number;
  /** The requesting client's: when it aborts (the client left), the query's statements are cancelled. */
  signal?: AbortSignal;
}

/** Server-wide settings. */
export interface SettingsStore {
  /** Server-wide settings (e.g. the secret behind source keys). Returns the value that is stored
   * after the call: `value` if the key was absent, the existing value otherwise. */
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  getSetting(key: string): Promise<string | null>;
}

/** Users and their API keys. */
export interface UserStore {
  createUser(user: NewUser): Promise<UserRecord>;
  getUserById(id: number): Promise<UserRecord | null>;
  getUserByName(username: string): Promise<UserRecord | null>;
  getUserByKeyHash(apikeyHash: string): Promise<UserRecord | null>;
  /** The oldest user with this e-mail address (addresses are not unique). */
  getUserByEmail(email: string): Promise<UserRecord | null>;
  /** Users ordered by id, starting after `afterId`. */
  listUsers(afterId: number, limit: number): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  updateUser(id: number, patch: UserPatch): Promise<UserRecord | null>;
  deleteUser(id: number): Promise<boolean>;
}

/** Uploads: submissions, files and their subfiles, the feed of changed files, one-time upload URLs. */
export interface FileStore {
  /**
   * Records an upload whose blob is already committed, in one transaction: creates or updates the
   * file (names, submission dates, times_submitted, unique_sources; it joins the submission's
   * corpus, keeping any other it was in), inserts the submission (status `queued`) and enqueues an
   * `analyze` job with payload `{submissionId}` in the submission's lane (model analysisLane).
   * Durable when it resolves. Concurrent calls may be committed together (group commit).
   */
  addSubmission(submission: NewSubmission): Promise<SubmissionRecord>;
  getSubmission(id: number): Promise<SubmissionRecord | null>;
  getSubmissionByAnalysisId(analysisId: string): Promise<SubmissionRecord | null>;
  setSubmissionStatus(id: number, status: AnalysisStatus): Promise<void>;
  /**
   * The submissions (uploads and re-analyses) of the file `sha256` (lower-case), newest first
   * (by id, descending), starting below the id `before` (null: from the newest); at most `limit`.
   */
  listSubmissions(sha256: string, before: number | null, limit: number): Promise<SubmissionRecord[]>;
  /** Looks a file up by sha256, sha1 or md5 (told apart by length; case-insensitive). */
  getFile(hash: string): Promise<FileRecord | null>;
  /** Files by sha256 (unknown ones are left out). */
  getFiles(sha256s: string[]): Promise<FileRecord[]>;
  /**
   * Files extracted from `sha256` (bundled_files) by child sha256, starting after `after`; with
   * `parents`, the other way round: the containers it was extracted from (compressed_parents).
   */
  listFileLinks(sha256: string, direction: 'children' | 'parents', after: string | null, limit: number): Promise<FileLink[]>;
  /**
   * The files inserted or updated since `cursor` (from an earlier call; null: start now, with no
   * changes), at most `max`. Every change committed before the call is either in it or was in an
   * earlier one, whatever order writers committed in. Caches of files follow it (stream/file-documents.ts).
   */
  fileChangesSince(cursor: string | null, max: number): Promise<FileChanges>;
  /**
   * A page of the Intelligence search `q` (model/file-search.ts): up to `q.limit` files matching
   * `q.expr`, in `q.order` with ties by sha256 in the same direction, strictly after `q.after`.
   * Files inserted meanwhile never shift a position: a walk from page to page sees each file
   * once, unless its order value changed (a resubmission moves it in last_submission_date).
   * `crowdsourced_yara_rule:` terms read `q.userId`'s notifications only. `signal`: as in
   * NotificationQuery.
   */
  searchFiles(q: FileSearchQuery, signal?: AbortSignal): Promise<FileRecord[]>;
  /** One-time upload URLs, stored by token hash. */
  createUploadUrl(tokenHash: string, userId: number, expiresAt: number): Promise<void>;
  /**
   * Atomically consumes `userId`'s token: 'consumed' once; 'not-yours' (and the token stays) when
   * it is another user's; null when unknown, used or expired.
   */
  consumeUploadUrl(tokenHash: string, userId: number, now: number): Promise<'consumed' | 'not-yours' | null>;
}

/** The registry of live processes: each reports itself every few seconds. */
export interface ProcessStore {
  /** Records the process as alive now (inserts or replaces its row). */
  heartbeatProcess(p: ProcessRecord): Promise<void>;
  /** Forgets a process (on a clean stop). */
  removeProcess(id: string): Promise<void>;
  /** Processes whose last heartbeat is at most `withinSeconds` old, oldest start first. */
  listProcesses(withinSeconds: number): Promise<ProcessRecord[]>;
}

/** The durable job queue, and the transactions that finish a job with what it found. */
export interface JobStore {
  /**
   * Claims up to `max` runnable jobs for `leaseMs`: queued ones, and running ones whose lease
   * expired (their worker died). Each claim increments `attempts`, and marks the submission of an
   * `analyze` job `in-progress`. Safe with many workers (PostgreSQL: FOR UPDATE SKIP LOCKED).
   * Jobs are shared between lanes: each next one from the lane with the fewest running; `limits`
   * keeps a lane from taking every slot of the claimer (jobs held already, by lane, and caps).
   */
  claimJobs(workerId: string, max: number, leaseMs: number, limits?: LaneLimits): Promise<Job[]>;
  /** Puts a claimed job back for a retry after `delayMs`, recording the error. */
  retryJob(jobId: number, error: string, delayMs: number): Promise<void>;
  /** Extends the lease of every job `workerId` holds (a heartbeat while they run). */
  extendLeases(workerId: string, leaseMs: number): Promise<void>;
  /**
   * Makes every running job claimable now. Only for embedded mode at startup, when no other
   * worker can hold a lease; returns how many jobs were released.
   */
  requeueRunningJobs(): Promise<number>;
  /** Number of jobs not yet finished (queued or running; failed ones are not counted). */
  pendingJobs(): Promise<number>;
  /**
   * Gives up on a claimed job that is not an analysis: it is kept, `failed`, with `error` and its
   * attempts, and is never claimed again unless retryFailedJobs queues it.
   */
  failJob(jobId: number, error: string): Promise<void>;
  /**
   * Gives up on an `analyze` job in one transaction: the job is kept as failJob does, its
   * submission becomes `failed` with `failure` (code and message for users; `error` is the raw
   * one), and the file carries `failure` as its analysisError (a new revision) until an analysis
   * of it completes (completeAnalysis, or a subfile's analysis, clears it).
   */
  failAnalysis(jobId: number, submissionId: number, failure: AnalysisFailure, error: string): Promise<void>;
  /** Failed jobs by id, starting after `afterId`. */
  listFailedJobs(afterId: number, limit: number): Promise<FailedJob[]>;
  /** How many jobs are failed (of `kind` only, when given: `analyze` counts failed analyses). */
  countFailedJobs(kind?: string): Promise<number>;
  /**
   * Queues failed jobs again, to run now with their attempts counted afresh: those among `ids`
   * (unknown and not failed ones are skipped), or every failed job when `ids` is absent. The
   * submissions of `analyze` jobs go back to `queued` without their failure. Returns the ids
   * queued, in order.
   */
  retryFailedJobs(ids?: number[]): Promise<number[]>;
  /**
   * The queue by kind, for the metrics scraped every few seconds: one grouped read of the jobs
   * table (a backlog of 100,000 jobs is read in tens of milliseconds). Kinds with no job are absent.
   */
  jobQueueStats(): Promise<JobQueueStats[]>;
  /**
   * Finishes an `analyze` job in one transaction: stores the analysis on the file
   * (last_analysis_date = `date`, any analysisError cleared), marks the submission `completed`
   * (any failure cleared), deletes the job, and stores
   * the notifications. A notification is dropped when its ruleset no longer exists or is
   * disabled, or when the ruleset already has `limit` notifications in the last 24 hours (which
   * also records the rate-limited period on it); a second one for the same submission, ruleset
   * and rule is ignored. With `emails`, notifications of rulesets that have notification_emails
   * are queued for e-mail (see takePendingEmails) with an `email` job per ruleset. `subfiles`
   * are stored as files (analysed, not counted as submitted) linked to their containers, and join
   * the submission's corpus as its file did; `followUp` is queued; `indexed` go into the content
   * index (as indexFiles). `communityScan` replaces the file's verdict from community rules (null:
   * none), in the same write of the file's row.
   */
  completeAnalysis(
    jobId: number, submissionId: number, analysis: FileAnalysis, date: number,
    notifications?: NewNotification[], opts?: { emails?: boolean; emailDelayMs?: number; subfiles?: NewSubfile[]; followUp?: FollowUpJob; indexed?: FileGrams[]; communityScan?: CommunityScan | null },
  ): Promise<StoredNotifications>;
  /**
   * Stores the notifications a job that is not an analysis found (a late scan) and removes the
   * job, in one transaction: a crash before it leaves the job to run again, after it nothing.
   * `community` merges a late scan's community matches into the file's verdict (CommunityUpdate).
   */
  completeJob(jobId: number, notifications: NewNotification[], opts?: { emails?: boolean; emailDelayMs?: number; community?: CommunityUpdate }): Promise<StoredNotifications>;
  /** Removes a finished job that is not an analysis (e.g. `email`). */
  deleteJob(jobId: number): Promise<void>;
  /**
   * Queues a job of `kind`; with `key`, only when no job with that key is queued or running
   * (returns false then). Checked and inserted in one transaction.
   */
  enqueueJob(kind: string, payload: Record<string, unknown>, key?: string): Promise<boolean>;
}

/** Hunting rulesets, their editors, and the generations of what is compiled. */
export interface RulesetStore {
  createRuleset(ruleset: NewRuleset): Promise<RulesetRecord>;
  getRuleset(id: number): Promise<RulesetRecord | null>;
  /** Rulesets `userId` owns or edits, by id. */
  listRulesetsOf(userId: number): Promise<RulesetRecord[]>;
  /** The ruleset `ownerId` owns under `name`; null when none. */
  findRulesetByName(ownerId: number, name: string): Promise<RulesetRecord | null>;
  /** Rulesets `userId` edits without owning them (ids and owners only: a cheap lookup). */
  sharedRulesets(userId: number): Promise<{ id: number; ownerId: number }[]>;
  /** Changes the given fields; null when the ruleset does not exist. */
  updateRuleset(id: number, patch: RulesetPatch): Promise<RulesetRecord | null>;
  deleteRuleset(id: number): Promise<boolean>;
  /** Grants edit rights; granting twice is harmless. */
  addRulesetEditor(id: number, userId: number): Promise<void>;
  /** Revokes edit rights; false when the user was not an editor. */
  removeRulesetEditor(id: number, userId: number): Promise<boolean>;
  /** Records a scan the ruleset made slow or time out (counted, last one kept). */
  recordSlowScan(id: number, scan: SlowScan): Promise<void>;
  /** Generation of the latest change to any ruleset's compiled state (0 when none). */
  rulesGeneration(): Promise<number>;
  /**
   * Ids of rulesets whose compiled state changed after `generation`, with the generation now
   * reached; null when that history was pruned (the caller reloads everything).
   */
  rulesetChangesSince(generation: number): Promise<{ generation: number; rulesetIds: number[] } | null>;
  /** Enabled rulesets among `ids` (all enabled ones when `ids` is absent), by id. */
  enabledRulesetSources(ids?: number[]): Promise<RulesetSource[]>;
}

/** Hunting notifications: pages, counts, deletes, retention, the live feed, e-mails. */
export interface NotificationStore {
  /** One notification by id; null when there is none. */
  getNotification(id: number): Promise<NotificationRecord | null>;
  /** A page of notifications in (date, id) order; see NotificationQuery. */
  listNotifications(q: NotificationQuery): Promise<NotificationRecord[]>;
  /** The ids of what listNotifications returns, in its order (bulk deletes walk with it). */
  listNotificationIds(q: NotificationQuery): Promise<number[]>;
  /**
   * What listNotifications selects, as IoC Stream pages read it: position, file and the stored
   * stream context, without the columns the context was made from.
   */
  listStreamEntries(q: NotificationQuery): Promise<StreamEntry[]>;
  /** How many notifications `q` selects (ignoring order, after and limit), counting at most `cap`. */
  countNotifications(q: NotificationQuery, cap: number): Promise<number>;
  /** Deletes notifications by id (with their tags and pending e-mails); returns how many. */
  deleteNotifications(ids: number[]): Promise<number>;
  /** Up to `max` ids of notifications dated before `date`, oldest first (for retention). */
  notificationIdsBefore(date: number, max: number): Promise<number[]>;
  /** Notifications with an id above `afterId`, by id (the live feed follows new ones with it). */
  notificationsAfterId(afterId: number, max: number): Promise<NotificationRecord[]>;
  /** The highest notification id (0 when none). */
  lastNotificationId(): Promise<number>;
  /** Up to `max` notifications of a ruleset waiting to be e-mailed, oldest first, and how many wait in all. */
  takePendingEmails(rulesetId: number, max: number): Promise<{ notifications: NotificationRecord[]; waiting: number }>;
  /** Marks notifications as e-mailed. */
  clearPendingEmails(notificationIds: number[]): Promise<void>;
}

/**
 * Retrohunt jobs (spec 5) and their matches. At most MAX_ACTIVE_RETROHUNT_JOBS jobs of a user
 * have a durable `retrohunt` job (key `retrohunt:<id>`, lane `retrohunt`, payload `{retrohuntId}`)
 * at once; the others wait (`starting`, not dispatched) and are queued, oldest first, by the
 * transaction that ends an earlier one (finish, abort of a job never queued, delete). The
 * transaction that makes a job with a notification_email `finished` or `aborted` queues a
 * durable `retrohunt-email` job (key `retrohunt-email:<id>`, lane `email`, payload `{retrohuntId}`).
 */
export interface RetrohuntStore {
  /**
   * Creates a job (status `starting`, progress 0) with id `<username>-<creationDate>`, or with
   * `-2`, `-3`, ... appended when that is taken; queues it when its owner has room.
   */
  createRetrohuntJob(job: NewRetrohuntJob): Promise<RetrohuntJobRecord>;
  getRetrohuntJob(id: string): Promise<RetrohuntJobRecord | null>;
  /** Jobs of `ownerId`, newest first (creation date, then id), starting after `after`. */
  /** Jobs of `ownerId` (or of any of several owners: a user and their group-mates), newest first. */
  listRetrohuntJobs(ownerId: number | readonly number[], q: { status?: RetrohuntStatus; after?: { date: number; id: string }; limit: number }): Promise<RetrohuntJobRecord[]>;
  countRetrohuntJobs(ownerId: number | readonly number[], status?: RetrohuntStatus): Promise<number>;
  /** Removes a job, its matches and its queued durable job; false when there was none. */
  deleteRetrohuntJob(id: string): Promise<boolean>;
  /**
   * Asks a job to stop, for `reason`: `aborting` when it is queued or running (its runner makes
   * it `aborted`), `aborted` at once when it was never queued; a job that ended is left as it is
   * (its reason too). Null when none.
   */
  abortRetrohuntJob(id: string, now: number, reason: string): Promise<RetrohuntJobRecord | null>;
  /** Marks a `starting` job `running` with its start date and corpus size; returns it as it is now (null when deleted). */
  startRetrohuntJob(id: string, now: number, totalFiles: number): Promise<RetrohuntJobRecord | null>;
  /**
   * Stores a batch's matches (a match stored before is not stored again) and progress in one
   * transaction; returns the job as it is now, but its rules (its status says whether it is being aborted),
   * null when it was deleted.
   */
  recordRetrohuntProgress(id: string, progress: RetrohuntProgress): Promise<RetrohuntJobState | null>;
  /**
   * Ends a job: `status`, finish date (progress 100 when finished), removes the durable job
   * `jobId`, queues the owner's next waiting job and the job's e-mail, in one transaction. An
   * aborted job keeps the reason it was asked to stop for, else takes `reason`; a finished one
   * has none.
   */
  finishRetrohuntJob(id: string, jobId: number, status: 'finished' | 'aborted', now: number, reason?: string): Promise<void>;
  /** Matches of a job by (sha256, rule), starting after `after`. */
  listRetrohuntMatches(id: string, after: { sha256: string; rule: string } | undefined, limit: number): Promise<RetrohuntMatch[]>;
  /**
   * Files of `corpus` whose first_submission_date is within `range`, by sha256, after `after`.
   * `main` holds every file but those only the goodware intake brought (and what was unpacked
   * from them); `goodware` holds those and no other: a file in both is walked in both.
   */
  retrohuntCorpus(range: { start: number; end: number }, after: string | null, limit: number, corpus: Corpus): Promise<FileRecord[]>;
  /** How many files retrohuntCorpus walks for `range` and `corpus`. */
  retrohuntCorpusSize(range: { start: number; end: number }, corpus: Corpus): Promise<number>;
  /** Of the files `sha256s` (the content index's candidates), those retrohuntCorpus would walk, by sha256. */
  retrohuntCandidates(range: { start: number; end: number }, sha256s: string[], corpus: Corpus): Promise<FileRecord[]>;
}

/** Every piece of durable state but file contents, by area; test/store-contract-<area>.test.ts checks each. */
/**
 * The content index's rows (content-index/). A file is not indexed (stored before the index, or
 * not analysed yet), indexed (its trigrams pending, then in a segment), or not indexable. Every
 * search scans the files not in the index; a reader lists them, then the pending rows, then the
 * segments, in that order, to see every file at least once.
 */
export interface ContentIndexStore {
  /** Records trigrams of files not indexed yet (null: not indexable); returns how many were recorded. */
  indexFiles(files: FileGrams[]): Promise<number>;
  /**
   * Of `sha256s`, those the index holds already (pending or in a segment) or found not indexable:
   * an analysis of them again need not take their trigrams, indexFiles would ignore them.
   */
  listIndexedFiles(sha256s: string[]): Promise<string[]>;
  /** Files not indexed or not indexable, sha256 ascending after `after`. */
  listUnindexedFiles(after: string | null, limit: number): Promise<string[]>;
  /** Analysed files never indexed (neither indexed nor found not indexable), sha256 ascending after `after`. */
  listFilesToIndex(after: string | null, limit: number): Promise<{ sha256: string; size: number }[]>;
  /** Pending files' trigrams, oldest first, after `afterSeq`. */
  listPendingGrams(afterSeq: number, limit: number): Promise<PendingGrams[]>;
  countPendingGrams(): Promise<{ files: number; bytes: number }>;
  /** Live segments, oldest first; with `retiredBefore`, those retired before that date instead. */
  listIndexSegments(retiredBefore?: number): Promise<ContentIndexSegment[]>;
  /** Adds a segment holding the pending rows `seqs` and the segments `replaces` (retired), in one transaction. */
  addIndexSegment(segment: NewContentIndexSegment, seqs: number[], replaces: number[], now: number): Promise<ContentIndexSegment>;
  /** Forgets retired segments (their blobs are the caller's to remove). */
  dropIndexSegments(ids: number[]): Promise<void>;
  /**
   * Starts the index over, in one transaction: live segments retired, pending rows dropped, every
   * indexed file not indexed again, the epoch moved on. Returns the files to index again.
   */
  resetContentIndex(now: number): Promise<number>;
  /** Moves on at each reset: a reader whose reads straddle one may have missed files. */
  contentIndexEpoch(): Promise<number>;
}

/**
 * ZIP files (model/zip-file.ts). Creating one queues its durable `zip-file` job (key
 * `zip-file:<id>`, lane `zip-file`, payload `{zipFileId}`) in the same transaction.
 */
export interface ZipFileStore {
  /** Creates a ZIP file, `starting`, with a new random id, and queues its job. */
  createZipFile(zip: NewZipFile): Promise<ZipFileRecord>;
  getZipFile(id: string): Promise<ZipFileRecord | null>;
  /** Marks a ZIP file `creating` with how far it got; one that ended is left as it is. */
  recordZipFileProgress(id: string, progress: { progress: number; filesOk: number; filesError: number }): Promise<void>;
  /**
   * Ends a ZIP file as `outcome` says (progress 100 when finished), forgets its password and
   * removes the durable job `jobId`, in one transaction.
   */
  finishZipFile(id: string, jobId: number, outcome: ZipFileOutcome, now: number): Promise<void>;
  /** ZIP files that ended before `before` (UNIX seconds), oldest first. */
  listEndedZipFiles(before: number, limit: number): Promise<ZipFileRecord[]>;
  /**
   * Forgets a ZIP file. Returns its blob when nothing else holds it (another ZIP file of the same
   * bytes, a stored file): the caller removes it. Null otherwise, or when there was none.
   */
  deleteZipFile(id: string): Promise<string | null>;
}

/** Groups (spec 7.2): members, group administrators, and rulesets shared with a group. */
export interface GroupStore {
  /** AlreadyExistsError when the name is taken. */
  createGroup(name: string, createdAt: number): Promise<GroupRecord>;
  getGroupByName(name: string): Promise<GroupRecord | null>;
  listGroups(): Promise<GroupRecord[]>;
  /** Deletes the group with its memberships, quotas and shares of rulesets; false when unknown. */
  deleteGroup(id: number): Promise<boolean>;
  /** Adds a member, or changes whether they administer the group. */
  setGroupMember(groupId: number, userId: number, isAdmin: boolean): Promise<void>;
  removeGroupMember(groupId: number, userId: number): Promise<boolean>;
  /** Members by user id. */
  groupMembers(groupId: number): Promise<GroupMember[]>;
  /** The groups `userId` is in, by group id (oldest first). */
  groupsOf(userId: number): Promise<GroupRecord[]>;
  /** Shares a ruleset with a group: its members edit it (RulesetRecord.editorGroupIds). */
  addRulesetGroup(rulesetId: number, groupId: number): Promise<void>;
  removeRulesetGroup(rulesetId: number, groupId: number): Promise<boolean>;
}

/**
 * Quotas (model/quotas.ts) and usage. Usage is counted per user, UTC day (YYYYMMDD) and bucket,
 * and per user and minute; every add is an atomic increment, so processes never lose counts.
 */
export interface QuotaStore {
  /** Sets a quota of a user or group; null makes it unlimited again. */
  setQuota(subject: QuotaSubject, name: QuotaName, allowed: number | null): Promise<void>;
  getQuotas(subject: QuotaSubject): Promise<QuotaLimits>;
  addDailyUsage(rows: { userId: number; day: number; bucket: string; count: number }[]): Promise<void>;
  /** Adds per-minute counts and forgets minutes before `dropBefore`. */
  addMinuteUsage(rows: { userId: number; minute: number; count: number }[], dropBefore: number): Promise<void>;
  /** Per user, the sum over days [from, to] of `bucket`, or of every API request bucket (not `quota:...`) without one. */
  usageTotals(userIds: readonly number[], from: number, to: number, bucket?: string): Promise<Map<number, number>>;
  minuteUsage(userIds: readonly number[], minute: number): Promise<Map<number, number>>;
  /** One user's counts per day and bucket over days [from, to]. */
  dailyUsage(userId: number, from: number, to: number): Promise<{ day: number; bucket: string; count: number }[]>;
}

export interface Store extends GroupStore, QuotaStore, SettingsStore, UserStore, FileStore, JobStore, RulesetStore, NotificationStore, ProcessStore, RetrohuntStore, ContentIndexStore, ZipFileStore {
  readonly dialect: 'sqlite' | 'postgres';
  /** Resolves when the database answers a trivial query (readiness probes); throws TransientError otherwise. */
  ping(): Promise<void>;
  /**
   * Indexes the schema wants that the database could not be given (PostgreSQL without pg_trgm),
   * each as a sentence saying what is slower without it and how an operator adds it; empty when
   * none is missing. What they serve still answers, only slower.
   */
  missingIndexes(): Promise<string[]>;
  close(): Promise<void>;
}

/** How copyTablesTo goes, and whom it tells how far it got. */
export interface TableCopyOptions {
  /** Rows read, and written in one transaction, at a time. */
  batchSize: number;
  /** Called once before copying, with each table to copy and its rows. */
  onTables?(tables: { table: string; rows: number }[]): void;
  /** Called after each batch written: rows of `table` copied so far, of `total`. */
  onRows?(table: string, copied: number, total: number): void;
}

/**
 * A store that can be copied whole into another (`trawl migrate`, moving an embedded install to
 * PostgreSQL). Opened by openCopyableStore; not the service's concern, hence not in Store.
 */
export interface CopyableStore extends Store {
  /** The schema migrations applied to this database, in order. */
  migrationsApplied(): Promise<string[]>;
  /** The tables holding the deployment's data that have rows: none in a database never used. */
  tablesWithData(): Promise<string[]>;
  /**
   * Copies every table of data into `target` (empty, at this store's migration level), a batch
   * per transaction, then sets its id sequences past the highest id this store gave.
   */
  copyTablesTo(target: CopyableStore, opts: TableCopyOptions): Promise<void>;
}
