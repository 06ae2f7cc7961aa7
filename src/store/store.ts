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
}

export type NewRuleset = Omit<RulesetRecord, 'id' | 'editorIds'>;
export type RulesetPatch = Partial<Omit<RulesetRecord, 'id' | 'editorIds' | 'creationDate'>>;

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
   * expired (their worker died). Each claim increments `attempts`. Safe with many workers
   * (PostgreSQL: FOR UPDATE SKIP LOCKED).
   */
  claimJobs(workerId: string, max: number, leaseMs: number): Promise<Job[]>;
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
   * (last_analysis_date = `date`), marks the submission `completed`, deletes the job.
   */
  completeAnalysis(jobId: number, submissionId: number, analysis: FileAnalysis, date: number): Promise<void>;

  createRuleset(ruleset: NewRuleset): Promise<RulesetRecord>;
  getRuleset(id: number): Promise<RulesetRecord | null>;
  /** Rulesets `userId` owns or edits, by id. */
  listRulesetsOf(userId: number): Promise<RulesetRecord[]>;
  /** Changes the given fields; null when the ruleset does not exist. */
  updateRuleset(id: number, patch: RulesetPatch): Promise<RulesetRecord | null>;
  deleteRuleset(id: number): Promise<boolean>;
  /** Grants edit rights; granting twice is harmless. */
  addRulesetEditor(id: number, userId: number): Promise<void>;
  /** Revokes edit rights; false when the user was not an editor. */
  removeRulesetEditor(id: number, userId: number): Promise<boolean>;

  /** One-time upload URLs, stored by token hash. */
  createUploadUrl(tokenHash: string, userId: number, expiresAt: number): Promise<void>;
  /** Atomically consumes a token: returns its user once, null if unknown, used or expired. */
  consumeUploadUrl(tokenHash: string, now: number): Promise<{ userId: number } | null>;
}
