// The store contract: every piece of durable state except file contents (see blobs/).
// Two implementations share one SQL layer (sql/): SQLite (embedded default) and PostgreSQL.
// Semantics every implementation keeps (checked by test/store-contract.test.ts):
// - a resolved write is durable (committed and synced); a rejected one left nothing behind;
// - "not found" is `null` (or `false`), never an exception;
// - failures are TrawlErrors: TransientError when the database is locked or unreachable,
//   InsufficientStorageError when it is full or read-only, AlreadyExistsError on a duplicate.

export type AnalysisStatus = 'queued' | 'in-progress' | 'completed';

export interface UserRecord {
  id: number;
  username: string;
  email: string | null;
  isAdmin: boolean;
  disabled: boolean;
  /** UNIX seconds. */
  createdAt: number;
  /** sha256 (hex) of the API key; the key itself is never stored. */
  apikeyHash: string;
}

export interface NewUser {
  username: string;
  isAdmin: boolean;
  apikeyHash: string;
  email?: string | null;
  createdAt: number;
}

export interface UserPatch {
  disabled?: boolean;
  isAdmin?: boolean;
  apikeyHash?: string;
  email?: string | null;
}

/** What analysis learns about a file's content (analysis/ produces it). */
export interface FileAnalysis {
  magic: string;
  typeDescription: string;
  typeTag: string;
  typeTags: string[];
  typeExtension: string;
  tags: string[];
  /** For containers: what unpacking found (spec 6.1), in its wire form. */
  bundleInfo?: BundleInfo;
}

/** bundle_info (spec 6.1), stored and served as it goes on the wire. */
export interface BundleInfo {
  /** ZIP, GZIP, TAR, 7ZIP, RAR, ... (docs/api.md lists them). */
  type: string;
  num_children: number;
  uncompressed_size: number;
  /** Children by file-name extension. */
  extensions: Record<string, number>;
  /** Children by type_description. */
  file_types: Record<string, number>;
  /** `%Y-%m-%d %H:%M:%S` (UTC) of the newest and oldest timestamps inside. */
  highest_datetime?: string;
  lowest_datetime?: string;
  /** The password that opened an encrypted container. */
  password?: string;
  /** Why unpacking failed or stopped early (corrupt input, a limit). */
  error?: string;
}

/** A file extracted from a container during an analysis (a subfile). */
export interface NewSubfile {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  analysis: FileAnalysis;
  /** The containers it was found in (by sha256), with its path inside each. */
  parents: { sha256: string; name: string }[];
}

/** One link of bundled_files / compressed_parents: the related file and the child's path. */
export interface FileLink {
  file: FileRecord;
  /** The child's path inside the parent. */
  name: string | null;
}

/** A file as stored: one row per distinct content (sha256). */
export interface FileRecord extends Partial<FileAnalysis> {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  /** Distinct submitted names, in order of first appearance. */
  names: string[];
  firstSubmissionDate: number;
  lastSubmissionDate: number;
  /** Absent until the first analysis completed. */
  lastAnalysisDate?: number;
  timesSubmitted: number;
  uniqueSources: number;
  /** Changes with every stored change of the file (serialized forms are cached by it). */
  revision?: number;
}

/** What Store.fileChangesSince returns. */
export interface FileChanges {
  /** Where the next call goes on from. Opaque; valid in every process of the service. */
  cursor: string;
  /** Each file inserted or updated since the cursor given, with its revision then; null when more than asked changed. */
  changes: { sha256: string; revision: number }[] | null;
}

export interface NewSubmission {
  /** Opaque id handed back to the client as the analysis id. Unique. */
  analysisId: string;
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  userId: number;
  /** UNIX seconds. */
  date: number;
  /** File name given at upload; null when none. */
  name: string | null;
  sourceKey: string;
  /** ISO 3166 alpha-2, or '' when unknown. */
  sourceCountry: string;
  /** Password given with the upload (for encrypted archives); null when none. */
  password: string | null;
}

export interface SubmissionRecord extends NewSubmission {
  id: number;
  status: AnalysisStatus;
  /** UNIX seconds when analysis completed. */
  completedAt?: number;
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

/** A hunting ruleset (spec 2.1) as stored. */
export interface RulesetRecord {
  id: number;
  ownerId: number;
  name: string;
  rules: string;
  enabled: boolean;
  /** Notifications allowed per rolling 24 hours. */
  limit: number;
  notificationEmails: string[];
  matchObjectType: string;
  tags: string[];
  /** Computed from `rules` when saved. */
  ruleNames: string[];
  creationDate: number;
  modificationDate: number;
  /** Users who may read and change the ruleset besides its owner. */
  editorIds: number[];
  /** Generation of the last change to what is compiled (rules, enabled); see rulesetChangesSince. */
  rulesGeneration: number;
  /** Rate limiting: the current or last period during which matches were dropped. */
  rateLimit: RateLimitState;
  /** Scans this ruleset made slow or time out. */
  slowScans: number;
  lastSlowScan: SlowScan | null;
}

/** When a ruleset was rate limited (UNIX seconds); model/rate-limit.ts computes the ratio. */
export interface RateLimitState {
  /** Start and end of the current or last period; until may lie in the future. */
  from: number | null;
  until: number | null;
  /** Earlier periods within the last 24 hours, as [from, until]. */
  log: [number, number][];
}

/** A scan a ruleset made slow or time out. */
export interface SlowScan {
  date: number;
  sha256: string;
  /** How long the ruleset alone took on the file (to its timeout when it timed out). */
  milliseconds: number;
  timedOut: boolean;
}

export type NewRuleset = Omit<RulesetRecord, 'id' | 'editorIds' | 'rulesGeneration' | 'rateLimit' | 'slowScans' | 'lastSlowScan'>;
export type RulesetPatch = Partial<Omit<NewRuleset, 'creationDate'>>;

/** What a matcher needs of an enabled ruleset. */
export interface RulesetSource {
  id: number;
  generation: number;
  rules: string;
}

/** A hunting notification about to be stored (one matching rule on one analysed submission). */
export interface NewNotification {
  ownerId: number;
  rulesetId: number;
  rulesetName: string;
  date: number;
  /** The submitted file's sha256 (the top-level file, also for matches in subfiles). */
  sha256: string;
  submissionId: number;
  ruleName: string;
  ruleTags: string[];
  /** Hexdump of the matches (spec 3.5); null for rules without strings. */
  snippet: string | null;
  matchInSubfile: boolean;
  sourceKey: string;
  sourceCountry: string;
  /** Lower-cased tags, searchable with `tag:`. */
  tags: string[];
}

export interface NotificationRecord extends NewNotification {
  id: number;
  entityType: 'file';
}

/** A notification as a page of the IoC Stream reads it (Store.listStreamEntries). */
export interface StreamEntry {
  id: number;
  date: number;
  sha256: string;
  /** The stream context without id and date, as JSON text (model/stream-context.ts). */
  context: string;
}

/** What storing an analysis's notifications did. */
export interface StoredNotifications {
  stored: NotificationRecord[];
  /** Matches dropped because their ruleset was over its `limit`, by ruleset id. */
  rateLimited: Record<number, number>;
  /** Matches dropped because their ruleset was deleted or disabled meanwhile. */
  gone: number;
}

/** Position in a (date, id)-ordered list of notifications. */
export interface NotificationPosition {
  date: number;
  id: number;
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

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  close(): Promise<void>;

  /** Server-wide settings (e.g. the secret behind source keys). Returns the value that is stored
   * after the call: `value` if the key was absent, the existing value otherwise. */
  setSettingIfAbsent(key: string, value: string): Promise<string>;
  getSetting(key: string): Promise<string | null>;

  createUser(user: NewUser): Promise<UserRecord>;
  getUserById(id: number): Promise<UserRecord | null>;
  getUserByName(username: string): Promise<UserRecord | null>;
  getUserByKeyHash(apikeyHash: string): Promise<UserRecord | null>;
  /** Users ordered by id, starting after `afterId`. */
  listUsers(afterId: number, limit: number): Promise<UserRecord[]>;
  countUsers(): Promise<number>;
  updateUser(id: number, patch: UserPatch): Promise<UserRecord | null>;
  deleteUser(id: number): Promise<boolean>;

  /**
   * Records an upload whose blob is already committed, in one transaction: creates or updates the
   * file (names, submission dates, times_submitted, unique_sources), inserts the submission
   * (status `queued`) and enqueues an `analyze` job with payload `{submissionId}`. Durable when
   * it resolves. Concurrent calls may be committed together (group commit).
   */
  addSubmission(submission: NewSubmission): Promise<SubmissionRecord>;
  getSubmission(id: number): Promise<SubmissionRecord | null>;
  getSubmissionByAnalysisId(analysisId: string): Promise<SubmissionRecord | null>;
  setSubmissionStatus(id: number, status: AnalysisStatus): Promise<void>;

  /** Looks a file up by sha256, sha1 or md5 (told apart by length; case-insensitive). */
  getFile(hash: string): Promise<FileRecord | null>;

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
  /** Number of jobs not yet finished (queued or running). */
  pendingJobs(): Promise<number>;

  /**
   * Finishes an `analyze` job in one transaction: stores the analysis on the file
   * (last_analysis_date = `date`), marks the submission `completed`, deletes the job, and stores
   * the notifications. A notification is dropped when its ruleset no longer exists or is
   * disabled, or when the ruleset already has `limit` notifications in the last 24 hours (which
   * also records the rate-limited period on it); a second one for the same submission, ruleset
   * and rule is ignored. With `emails`, notifications of rulesets that have notification_emails
   * are queued for e-mail (see takePendingEmails) with an `email` job per ruleset. `subfiles`
   * are stored as files (analysed, not counted as submitted) linked to their containers;
   * `followUp` is queued.
   */
  completeAnalysis(
    jobId: number, submissionId: number, analysis: FileAnalysis, date: number,
    notifications?: NewNotification[], opts?: { emails?: boolean; emailDelayMs?: number; subfiles?: NewSubfile[]; followUp?: FollowUpJob },
  ): Promise<StoredNotifications>;

  /**
   * Stores the notifications a job that is not an analysis found (a late scan) and removes the
   * job, in one transaction: a crash before it leaves the job to run again, after it nothing.
   */
  completeJob(jobId: number, notifications: NewNotification[], opts?: { emails?: boolean; emailDelayMs?: number }): Promise<StoredNotifications>;

  /**
   * Files extracted from `sha256` (bundled_files) by child sha256, starting after `after`; with
   * `parents`, the other way round: the containers it was extracted from (compressed_parents).
   */
  listFileLinks(sha256: string, direction: 'children' | 'parents', after: string | null, limit: number): Promise<FileLink[]>;

  /** Removes a finished job that is not an analysis (e.g. `email`). */
  deleteJob(jobId: number): Promise<void>;

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
  /**
   * Queues a job of `kind`; with `key`, only when no job with that key is queued or running
   * (returns false then). Checked and inserted in one transaction.
   */
  enqueueJob(kind: string, payload: Record<string, unknown>, key?: string): Promise<boolean>;
  /** Files by sha256 (unknown ones are left out). */
  getFiles(sha256s: string[]): Promise<FileRecord[]>;
  /**
   * The files inserted or updated since `cursor` (from an earlier call; null: start now, with no
   * changes), at most `max`. Every change committed before the call is either in it or was in an
   * earlier one, whatever order writers committed in. Caches of files follow it (stream/file-documents.ts).
   */
  fileChangesSince(cursor: string | null, max: number): Promise<FileChanges>;
  /** Up to `max` notifications of a ruleset waiting to be e-mailed, oldest first, and how many wait in all. */
  takePendingEmails(rulesetId: number, max: number): Promise<{ notifications: NotificationRecord[]; waiting: number }>;
  /** Marks notifications as e-mailed. */
  clearPendingEmails(notificationIds: number[]): Promise<void>;

  /** One-time upload URLs, stored by token hash. */
  createUploadUrl(tokenHash: string, userId: number, expiresAt: number): Promise<void>;
  /**
   * Atomically consumes `userId`'s token: 'consumed' once; 'not-yours' (and the token stays) when
   * it is another user's; null when unknown, used or expired.
   */
  consumeUploadUrl(tokenHash: string, userId: number, now: number): Promise<'consumed' | 'not-yours' | null>;
}
