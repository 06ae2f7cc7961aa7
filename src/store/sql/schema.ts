// Kysely table types for the SQL store, shared by SQLite and PostgreSQL.
// Conventions: dates are UNIX seconds, job times are epoch milliseconds, booleans are 0/1
// integers and lists are JSON text, so the same queries run unchanged on both dialects.
import type { Generated } from 'kysely';

/** One row per server-wide setting. */
export interface SettingsTable {
  key: string;
  value: string;
}

/** Accounts; the API key is only stored as its sha256. */
export interface UsersTable {
  id: Generated<number>;
  username: string;
  email: string | null;
  /** 0/1 */
  is_admin: number;
  /** 0/1 */
  disabled: number;
  created_at: number;
  apikey_hash: string;
}

/** One row per distinct content. Analysis columns are null until the first analysis completed. */
export interface FilesTable {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  magic: string | null;
  type_description: string | null;
  type_tag: string | null;
  /** JSON array of strings. */
  type_tags: string | null;
  type_extension: string | null;
  /** JSON array of strings. */
  tags: string | null;
  /** JSON array of distinct submitted names, in order of first appearance. */
  names: string;
  first_submission_date: number;
  last_submission_date: number;
  last_analysis_date: number | null;
  times_submitted: number;
  unique_sources: number;
  /** JSON bundle_info (spec 6.1) of a container; null for other files. */
  bundle_info: string | null;
  /** JSON AnalysisFailure while the latest analysis failed; null otherwise. */
  analysis_error: string | null;
  /** Incremented by every update of the row (see FileRecord.revision). */
  revision: Generated<number>;
  /** Set by a trigger on every insert and update, for the feed of changed files (file-changes.ts). */
  change_mark: Generated<number | string>;
  /** In the content index: 0 not yet, 1 indexed (pending or in a segment), 2 not indexable (content-index.ts). */
  content_index: Generated<number>;
  /** 0/1: in the main corpus (records.ts Corpus): a user's submission brought it (1 by default). */
  in_main: Generated<number>;
  /** 0/1: in the goodware corpus: the goodware intake brought it (0 by default). */
  in_goodware: Generated<number>;
  /** JSON CommunityScan: the file's verdict from community rules; null before any (migration 0020). */
  community_scan: Generated<string | null>;
}

/** Subfiles: which files were extracted from which (bundled_files / compressed_parents). */
export interface FileChildrenTable {
  parent_sha256: string;
  child_sha256: string;
  /** The child's path inside the parent. */
  name: string | null;
}

/** Which sources submitted which file: lets unique_sources be maintained incrementally. */
export interface FileSourcesTable {
  sha256: string;
  source_key: string;
}

/** One row per upload. */
export interface SubmissionsTable {
  id: Generated<number>;
  analysis_id: string;
  sha256: string;
  user_id: number;
  date: number;
  name: string | null;
  source_key: string;
  source_country: string;
  password: string | null;
  status: 'queued' | 'in-progress' | 'completed' | 'failed';
  completed_at: number | null;
  /** Why a `failed` submission failed (AnalysisFailure's code and message); null otherwise. */
  error_code: string | null;
  error_message: string | null;
  /** `main` or `goodware` (records.ts Corpus). */
  corpus: Generated<'main' | 'goodware'>;
}

/**
 * The job queue. `run_after` is the epoch-ms time the job next becomes claimable: the retry time
 * of a queued job, the lease expiry of a running one. One index on it makes claiming cheap.
 */
export interface JobsTable {
  id: Generated<number>;
  kind: string;
  /** JSON object. */
  payload: string;
  /** `failed`: given up on after its last attempt, kept until retried (run_after is then FAILED_RUN_AFTER). */
  state: 'queued' | 'running' | 'failed';
  /** Number of claims so far. */
  attempts: number;
  run_after: number;
  locked_by: string | null;
  locked_until: number | null;
  last_error: string | null;
  /** Groups jobs of one purpose (e.g. `email:<ruleset id>`) so a queued one can be found; null for most. */
  job_key: string | null;
  /** Jobs are claimed from each lane in turn: `user:<id>` for a user's analyses, `late` for late scans. */
  lane: Generated<string>;
  /** Epoch ms when a `failed` job was given up on; null otherwise. */
  failed_at: number | null;
}

/** One-time upload URLs, by the sha256 of their token. */
export interface UploadUrlsTable {
  token_hash: string;
  user_id: number;
  expires_at: number;
}

/** Hunting rulesets; lists are JSON text. */
export interface HuntingRulesetsTable {
  id: Generated<number>;
  owner_id: number;
  name: string;
  rules: string;
  /** 0/1 */
  enabled: number;
  notification_limit: number;
  notification_emails: string;
  match_object_type: string;
  tags: string;
  rule_names: string;
  creation_date: number;
  modification_date: number;
  /** Generation (ruleset_changes) of the last change to what is compiled: rules or enabled. */
  rules_generation: number;
  /** Rate limiting (model/rate-limit.ts): the current or last period, and earlier ones (JSON). */
  limited_from: number | null;
  limited_until: number | null;
  limited_log: string;
  /** Scans this ruleset made slow or time out, and the last one (JSON), for its owner to see. */
  slow_scans: number;
  last_slow_scan: string | null;
  /** JSON CommunityRuleset for community rulesets (`trawl rules import`); null for Livehunt ones. */
  community: Generated<string | null>;
}

/**
 * One row per change to what scanning needs (a ruleset created, deleted, its rules changed,
 * enabled or disabled). Matchers follow it to recompile only what changed.
 */
export interface RulesetChangesTable {
  generation: number;
  ruleset_id: number;
  date: number;
}

/** Named counters, incremented under their row lock. */
export interface CountersTable {
  name: string;
  value: number;
}

/**
 * Hunting notifications: one per matching rule per analysed submission. The IoC Stream reads the
 * same rows. Lists are ordered by (date, id); `owner_id` is the ruleset's owner.
 */
export interface HuntingNotificationsTable {
  id: Generated<number>;
  owner_id: number;
  ruleset_id: number;
  date: number;
  entity_type: string;
  /** The matched file (the submitted, top-level one). */
  sha256: string;
  submission_id: number;
  rule_name: string;
  /**
   * The IoC Stream context without id and date (model/stream-context.ts): the only copy of the
   * ruleset name, tags (also in hunting_notification_tags), rule tags, snippet, source and
   * match_in_subfile. Nullable in the schema only because SQLite cannot add NOT NULL later.
   */
  stream_context: string;
}

/** Notification tags, for `tag:` filters in (date, id) order. */
export interface HuntingNotificationTagsTable {
  owner_id: number;
  tag: string;
  date: number;
  notification_id: number;
}

/** Notifications waiting to be e-mailed, by ruleset (a digest takes all waiting ones). */
export interface PendingEmailsTable {
  notification_id: number;
  ruleset_id: number;
}

/** Who may edit a ruleset besides its owner. */
export interface HuntingRulesetEditorsTable {
  ruleset_id: number;
  user_id: number;
}

export interface ProcessesTable {
  id: string;
  role: string;
  host: string;
  pid: number;
  version: string;
  engine_version: string;
  started_at: number;
  heartbeat_at: number;
  jobs_held: number;
  lag_ms: number;
  blob_store: string;
}

/** Retrohunt jobs (model/retrohunt.ts); the durable job that runs one is a `retrohunt` row of jobs. */
export interface RetrohuntJobsTable {
  id: string;
  owner_id: number;
  rules: string;
  notification_email: string | null;
  corpus: string;
  range_start: number;
  range_end: number;
  status: string;
  progress: number;
  eta_seconds: number;
  scanned_bytes: number;
  scanned_files: number;
  total_files: number;
  num_matches: number;
  creation_date: number;
  start_date: number | null;
  finish_date: number | null;
  /** The last sha256 scanned (files are walked in sha256 order). */
  cursor: string | null;
  /** 0/1: a `retrohunt` job was queued for it. */
  dispatched: number;
  /** Why it was aborted (model/retrohunt.ts's abortReasons); null unless aborting or aborted. */
  abort_reason: string | null;
}

/** One rule of a retrohunt job that matched one file. */
export interface RetrohuntMatchesTable {
  job_id: string;
  sha256: string;
  rule_name: string;
  snippet: string | null;
  /** 0/1 */
  match_in_subfile: number;
}

/** A file's trigrams, indexed but not yet in a segment (content-index.ts). */
export interface ContentIndexPendingTable {
  id: Generated<number>;
  sha256: string;
  grams: Uint8Array;
}

/** A segment of the content index: a blob of the blob store, named by its sha256. */
export interface ContentIndexSegmentsTable {
  id: Generated<number>;
  blob: string;
  files: number;
  bytes: number;
  /** 0 for a segment of pending files; a merge of segments of level n is at n + 1. */
  level: number;
  created_at: number;
  /** Set when merged into another: readers that listed it before may still read it for a while. */
  retired_at: number | null;
}

/** The whole database, as Kysely sees it. */
/** Groups (spec 7.2): admin-managed teams that share rulesets, Retrohunt jobs and quotas. */
export interface UserGroupsTable {
  id: Generated<number>;
  name: string;
  created_at: number;
}

export interface GroupMembersTable {
  group_id: number;
  user_id: number;
  /** 0/1: a group administrator. */
  is_admin: number;
}

/** Rulesets shared with a group: its members edit them. */
export interface HuntingRulesetGroupsTable {
  ruleset_id: number;
  group_id: number;
}

/** Quotas set on a user or a group (model/quotas.ts); a quota without a row is unlimited. */
export interface QuotasTable {
  /** 'user' or 'group' */
  subject: string;
  subject_id: number;
  name: string;
  allowed: number;
}

/** What each user did per UTC day (YYYYMMDD) and bucket: API requests by endpoint, and quota counts. */
export interface UsageDailyTable {
  user_id: number;
  day: number;
  bucket: string;
  count: number;
}

/** API requests per user and minute since the epoch: the per-minute quota across processes. */
export interface UsageMinutesTable {
  user_id: number;
  minute: number;
  count: number;
}

export interface Database {
  processes: ProcessesTable;
  settings: SettingsTable;
  users: UsersTable;
  files: FilesTable;
  file_sources: FileSourcesTable;
  file_children: FileChildrenTable;
  submissions: SubmissionsTable;
  jobs: JobsTable;
  upload_urls: UploadUrlsTable;
  hunting_rulesets: HuntingRulesetsTable;
  hunting_ruleset_editors: HuntingRulesetEditorsTable;
  counters: CountersTable;
  ruleset_changes: RulesetChangesTable;
  hunting_notifications: HuntingNotificationsTable;
  hunting_notification_tags: HuntingNotificationTagsTable;
  pending_emails: PendingEmailsTable;
  retrohunt_jobs: RetrohuntJobsTable;
  retrohunt_matches: RetrohuntMatchesTable;
  content_index_pending: ContentIndexPendingTable;
  content_index_segments: ContentIndexSegmentsTable;
  user_groups: UserGroupsTable;
  group_members: GroupMembersTable;
  hunting_ruleset_groups: HuntingRulesetGroupsTable;
  quotas: QuotasTable;
  usage_daily: UsageDailyTable;
  usage_minutes: UsageMinutesTable;
  zip_files: ZipFilesTable;
}

/** ZIP files (model/zip-file.ts); the durable job that builds one is a `zip-file` row of jobs. */
export interface ZipFilesTable {
  id: string;
  owner_id: number;
  /** JSON array of the hashes asked for. */
  hashes: string;
  /** Until the ZIP is built; null after, or when none was given. */
  password: string | null;
  /** 0/1. */
  encrypted: number;
  status: string;
  progress: number;
  files_ok: number;
  files_error: number;
  creation_date: number;
  finish_date: number | null;
  blob: string | null;
  size: number | null;
  error: string | null;
}
