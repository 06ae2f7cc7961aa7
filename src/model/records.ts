// The domain records: users, files and their analyses, submissions, rulesets, notifications. The
// store keeps them (store/store.ts), every stage passes them on; this module imports nothing.

/** `failed`: a job that could not run was given up on (the wire says so in VT's vocabulary: docs/api.md). */
export type AnalysisStatus = 'queued' | 'in-progress' | 'completed' | 'failed';

/**
 * Why an analysis failed, as users see it: a stable `code` and a short `message` that names no
 * server path (the raw error stays in the log and on the job).
 */
export interface AnalysisFailure {
  code: string;
  message: string;
  /** UNIX seconds when it was given up on. */
  date: number;
}

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
  /** Set while the latest analysis of the file failed; a successful one clears it. */
  analysisError?: AnalysisFailure;
  /** The latest scan with community rules (absent: never scanned while some were imported). */
  communityScan?: CommunityScan;
}

/**
 * The owner of community rulesets (`trawl rules import`): an operator-owned system account that
 * is no user (no users row, no API key), so no user lists, sees or is notified by its rulesets.
 */
export const COMMUNITY_OWNER_ID = 0;

/** What makes a ruleset a community one: where it was imported from and its rules' metadata. */
export interface CommunityRuleset {
  /** The collection it came from (the import's URL or folder, or --source): crowdsourced `source`. */
  source: string;
  /** `author` and `description` meta of each rule that has them. */
  rules: Record<string, { author?: string; description?: string }>;
}

/** One community rule that matched a file (VirusTotal's crowdsourced_yara_results item). */
export interface CommunityMatch {
  ruleName: string;
  rulesetId: number;
  rulesetName: string;
  source: string;
  author?: string;
  description?: string;
  /** The rule matched a file unpacked from this one, not the file itself. */
  matchInSubfile: boolean;
}

/** A file's verdict from community rules: when it was scanned, and what matched (empty: nothing). */
export interface CommunityScan {
  date: number;
  matches: CommunityMatch[];
}

/**
 * The corpora of stored files (spec 5.1): `main`, what users submit and the files unpacked from
 * it, hunted by Livehunt; `goodware`, what an operator adds to try rules for false positives
 * (`trawl corpus add goodware`), and the files unpacked from it, never hunted. A file brought
 * both ways is in both.
 */
export type Corpus = 'main' | 'goodware';

/**
 * The job-queue and pool lane of a submission's analysis: its user's (`user:<id>`), or one lane
 * for the goodware intake, so an operator's bulk import takes one lane's share of the workers.
 */
export function analysisLane(s: { userId: number; corpus?: Corpus }): string {
  return s.corpus === 'goodware' ? 'goodware' : `user:${s.userId}`;
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
  /** The corpus it adds its file (and the subfiles unpacked from it) to; `main` when absent. */
  corpus?: Corpus;
  /**
   * A re-analysis of a stored file (`POST /files/{id}/analyse`), not a new submission of it: the
   * file's names, dates and counts stay as they are, and the corpus is the file's own (`main` if
   * it is in it, else `goodware`), whatever `corpus` says. Not stored: the record is a submission
   * like any other.
   */
  reanalysis?: boolean;
}

export interface SubmissionRecord extends NewSubmission {
  id: number;
  status: AnalysisStatus;
  corpus: Corpus;
  /** UNIX seconds when analysis completed (or failed). */
  completedAt?: number;
  /** Why, when `status` is `failed`. */
  failure?: AnalysisFailure;
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
  /** Groups it is shared with (spec 7.2): their members edit it too. */
  editorGroupIds: number[];
  /** Members of those groups, the owner aside: editors through a group. */
  groupMemberIds: number[];
  /** Generation of the last change to what is compiled (rules, enabled); see rulesetChangesSince. */
  rulesGeneration: number;
  /** Rate limiting: the current or last period during which matches were dropped. */
  rateLimit: RateLimitState;
  /** Scans this ruleset made slow or time out. */
  slowScans: number;
  lastSlowScan: SlowScan | null;
  /** Set for community rulesets (owned by COMMUNITY_OWNER_ID): they fill verdicts, never notify. */
  community?: CommunityRuleset;
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

export type NewRuleset = Omit<RulesetRecord, 'id' | 'editorIds' | 'editorGroupIds' | 'groupMemberIds' | 'rulesGeneration' | 'rateLimit' | 'slowScans' | 'lastSlowScan'>;

export type RulesetPatch = Partial<Omit<NewRuleset, 'creationDate'>>;

/** What a matcher needs of an enabled ruleset. */
export interface RulesetSource {
  id: number;
  generation: number;
  rules: string;
  /** A community ruleset (its matches make verdicts, not notifications). */
  community?: boolean;
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

/** Position in a (date, id)-ordered list of notifications. */
export interface NotificationPosition {
  date: number;
  id: number;
}

/** A running Trawl process, as it last reported itself (`trawl status`). */
export interface ProcessRecord {
  /** Also the id its job runner claims jobs under. */
  id: string;
  role: 'all' | 'api' | 'worker';
  host: string;
  pid: number;
  version: string;
  engineVersion: string;
  startedAt: number;
  /** Unix seconds of its last heartbeat. */
  heartbeatAt: number;
  /** Jobs it held at its last heartbeat. */
  jobsHeld: number;
  /** Its event loop's worst delay over the last heartbeat interval, in milliseconds. */
  lagMs: number;
  /** Where it keeps blobs (a folder or an s3:// URL). */
  blobStore: string;
}

/** The jobs of one kind in the queue (the store's jobQueueStats; the metrics' queue gauges). */
export interface JobQueueStats {
  kind: string;
  /** Jobs waiting to run, delayed ones (a retry's backoff, an e-mail digest's wait) included. */
  queued: number;
  /** Jobs a worker holds (its lease may have lapsed: they are claimable again). */
  running: number;
  /** Jobs given up on, kept for `trawl jobs retry`. */
  failed: number;
  /** The smallest run_after of the queued jobs (epoch ms; in the future when all are delayed); null when none is queued. */
  oldestQueuedAt: number | null;
}
