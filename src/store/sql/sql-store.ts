// The Store on a Kysely database: one implementation for SQLite and PostgreSQL. What differs
// between them comes in through SqlDialect; every driver error leaves as a TrawlError.
import { sql, type Kysely, type Updateable } from 'kysely';
import { alreadyExists, TrawlError } from '../../model/errors.js';
import type {
  AnalysisFailure, AnalysisStatus, CopyableStore, Corpus, FailedJob, FileAnalysis, FileLink, FollowUpJob, JobQueueStats, LaneLimits, FileChanges, FileRecord, Job, NewNotification, NewSubfile, NewRuleset, NewSubmission, NewUser,
  NotificationQuery, NotificationRecord, RulesetPatch, RulesetRecord, RulesetSource, SlowScan, Store,
  StoredNotifications, StreamEntry, SubmissionRecord, TableCopyOptions, UserPatch, UserRecord, ProcessRecord,
  NewRetrohuntJob, RetrohuntJobRecord, RetrohuntJobState, RetrohuntMatch, RetrohuntProgress, RetrohuntStatus,
  ContentIndexSegment, FileGrams, NewContentIndexSegment, PendingGrams, NewZipFile, ZipFileOutcome, ZipFileRecord,
  CommunityScan, CommunityUpdate,
  FileSearchQuery,
  GroupMember, GroupRecord, QuotaLimits, QuotaName, QuotaSubject,
} from '../store.js';
import type { SqlDialect } from './dialect.js';
import { fileChangesSince } from './file-changes.js';
import { GroupCommitter } from './group-commit.js';
import { migrate } from './migrations.js';
import * as fileSearch from './file-search.js';
import * as failedJobs from './failed-jobs.js';
import * as jobs from './jobs.js';
import * as notifications from './notifications.js';
import * as processes from './processes.js';
import * as retrohunt from './retrohunt.js';
import * as zipFiles from './zip-files.js';
import * as community from './community.js';
import * as contentIndex from './content-index.js';
import * as rulesets from './rulesets.js';
import * as groups from './groups.js';
import * as quotas from './quotas.js';
import * as subfiles from './subfiles.js';
import { toFile, toSubmission, toUser } from './rows.js';
import type { Database, UsersTable } from './schema.js';
import { CommonValues, missingTrigramIndexes } from './trigram-index.js';
import { writeSubmission } from './submission-writer.js';
import { withQuerySignal } from './query-signal.js';
import { copyTables, migrationsApplied, tablesWithData } from './table-copy.js';

const HASH_COLUMN = { 64: 'sha256', 40: 'sha1', 32: 'md5' } as const;

/** One completeAnalysis call. */
interface Completion {
  jobId: number;
  submissionId: number;
  analysis: FileAnalysis;
  date: number;
  list: NewNotification[];
  opts: { emails?: boolean; emailDelayMs?: number; subfiles?: NewSubfile[]; followUp?: FollowUpJob; indexed?: FileGrams[]; communityScan?: CommunityScan | null };
}

/** A Store over SQL. Create it with SqlStore.open, which brings the schema up to date first. */
export class SqlStore implements CopyableStore {
  private readonly committer: GroupCommitter<NewSubmission, SubmissionRecord> | null;
  /** Whether a request's statements carry its mark (query-signal.ts): where they can be cancelled. */
  private readonly marks: boolean;
  /** Search values too common to read from a trigram index (file-search.ts). */
  private readonly commonValues = new CommonValues();
  /** Analyses completing together share a transaction (one per job cost as much as its claim). */
  private readonly completions: GroupCommitter<Completion, StoredNotifications> | null;

  private constructor(
    private readonly db: Kysely<Database>,
    private readonly d: SqlDialect,
  ) {
    this.marks = this.d.name === 'postgres';
    this.committer = d.groupCommit
      ? new GroupCommitter((batch) => this.run(() => this.writeSubmissions(batch)))
      : null;
    this.completions = d.groupCommit
      ? new GroupCommitter((batch) => this.bookkeeping(async (tx) => {
        const out: StoredNotifications[] = [];
        for (const c of batch) out.push(await this.complete(tx, c));
        return out;
      }))
      : null;
  }

  /** Migrates `db` (unless told not to) and wraps it. On failure the database is closed and a TrawlError thrown. */
  static async open(db: Kysely<Database>, dialect: SqlDialect, opts: { migrate?: boolean } = {}): Promise<SqlStore> {
    try {
      if (opts.migrate !== false) await migrate(db, dialect);
      // Unmigrated, nothing would have connected yet: an unreachable database fails now, not on first use.
      else await sql`select 1`.execute(db);
    } catch (e) {
      await db.destroy().catch(() => undefined);
      throw dialect.mapError(e);
    }
    return new SqlStore(db, dialect);
  }

  get dialect(): 'sqlite' | 'postgres' {
    return this.d.name;
  }

  async ping(): Promise<void> {
    await this.run(() => sql`select 1`.execute(this.db));
  }

  missingIndexes(): Promise<string[]> {
    return this.run(async () => {
      const trigrams = await missingTrigramIndexes(this.db, this.d.name);
      return trigrams ? [trigrams] : [];
    });
  }

  async close(): Promise<void> {
    await this.committer?.drain();
    await this.completions?.drain();
    await this.run(() => this.db.destroy());
  }

  migrationsApplied(): Promise<string[]> {
    return this.run(() => migrationsApplied(this.db));
  }

  tablesWithData(): Promise<string[]> {
    return this.run(() => tablesWithData(this.db));
  }

  copyTablesTo(target: CopyableStore, opts: TableCopyOptions): Promise<void> {
    if (!(target instanceof SqlStore)) throw new Error('can only copy into another SQL store');
    // Errors leave unmapped: either database may have raised them, and the driver's message
    // (which row, which constraint) is what the operator needs.
    return copyTables({ db: this.db, dialect: this.d }, { db: target.db, dialect: target.d }, opts);
  }

  setSettingIfAbsent(key: string, value: string): Promise<string> {
    return this.run(async () => {
      await this.db.insertInto('settings').values({ key, value })
        .onConflict((oc) => oc.column('key').doNothing()).execute();
      const row = await this.db.selectFrom('settings').select('value').where('key', '=', key)
        .executeTakeFirstOrThrow();
      return row.value;
    });
  }

  getSetting(key: string): Promise<string | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value ?? null;
    });
  }

  async createUser(user: NewUser): Promise<UserRecord> {
    try {
      return await this.run(async () =>
        toUser(await this.db.insertInto('users').values({
          username: user.username, email: user.email ?? null, is_admin: user.isAdmin ? 1 : 0,
          disabled: 0, created_at: user.createdAt, apikey_hash: user.apikeyHash,
        }).returningAll().executeTakeFirstOrThrow()));
    } catch (e) {
      if (e instanceof TrawlError && e.code === 'AlreadyExistsError') {
        const which = String((e.cause as Error | undefined)?.message).includes('username')
          ? `User with username "${user.username}" already exists`
          : 'User with this API key already exists';
        throw Object.assign(alreadyExists(which), { cause: e.cause });
      }
      throw e;
    }
  }

  getUserById(id: number): Promise<UserRecord | null> {
    return this.userWhere('id', id);
  }

  getUserByName(username: string): Promise<UserRecord | null> {
    return this.userWhere('username', username);
  }

  getUserByEmail(email: string): Promise<UserRecord | null> {
    return this.userWhere('email', email);
  }

  getUserByKeyHash(apikeyHash: string): Promise<UserRecord | null> {
    return this.userWhere('apikey_hash', apikeyHash);
  }

  listUsers(afterId: number, limit: number): Promise<UserRecord[]> {
    return this.run(async () =>
      (await this.db.selectFrom('users').selectAll().where('id', '>', afterId)
        .orderBy('id').limit(limit).execute()).map(toUser));
  }

  countUsers(): Promise<number> {
    return this.run(async () => {
      const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  updateUser(id: number, patch: UserPatch): Promise<UserRecord | null> {
    const set: Updateable<UsersTable> = {};
    if (patch.disabled !== undefined) set.disabled = patch.disabled ? 1 : 0;
    if (patch.isAdmin !== undefined) set.is_admin = patch.isAdmin ? 1 : 0;
    if (patch.apikeyHash !== undefined) set.apikey_hash = patch.apikeyHash;
    if (patch.email !== undefined) set.email = patch.email;
    if (Object.keys(set).length === 0) return this.getUserById(id);
    return this.run(async () => {
      const row = await this.db.updateTable('users').set(set).where('id', '=', id).returningAll().executeTakeFirst();
      return row ? toUser(row) : null;
    });
  }

  deleteUser(id: number): Promise<boolean> {
    return this.run(async () => {
      // Their memberships and quotas go with them (their usage stays, as their notifications do).
      await this.db.deleteFrom('group_members').where('user_id', '=', id).execute();
      await this.db.deleteFrom('quotas').where('subject', '=', 'user').where('subject_id', '=', id).execute();
      const r = await this.db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  addSubmission(submission: NewSubmission): Promise<SubmissionRecord> {
    if (this.committer) return this.committer.submit(submission);
    return this.run(() =>
      this.d.transaction(this.db, (tx) => writeSubmission(tx, this.d, submission, Date.now())));
  }

  getSubmission(id: number): Promise<SubmissionRecord | null> {
    return this.submissionWhere('id', id);
  }

  getSubmissionByAnalysisId(analysisId: string): Promise<SubmissionRecord | null> {
    return this.submissionWhere('analysis_id', analysisId);
  }

  listSubmissions(sha256: string, before: number | null, limit: number): Promise<SubmissionRecord[]> {
    return this.run(async () => {
      let q = this.db.selectFrom('submissions')
        .innerJoin('files', 'files.sha256', 'submissions.sha256')
        .selectAll('submissions').select(['files.sha1', 'files.md5', 'files.size'])
        .where('submissions.sha256', '=', sha256.toLowerCase());
      if (before !== null) q = q.where('submissions.id', '<', before);
      const rows = await q.orderBy('submissions.id', 'desc').limit(limit).execute();
      return rows.map(toSubmission);
    });
  }

  setSubmissionStatus(id: number, status: AnalysisStatus): Promise<void> {
    return this.bookkeeping(async (tx) => {
      await tx.updateTable('submissions').set({ status }).where('id', '=', id).execute();
    });
  }

  getFile(hash: string): Promise<FileRecord | null> {
    const column = HASH_COLUMN[hash.length as keyof typeof HASH_COLUMN];
    if (!column) return Promise.resolve(null);
    return this.run(async () => {
      const row = await this.db.selectFrom('files').selectAll()
        .where(column, '=', hash.toLowerCase()).limit(1).executeTakeFirst();
      return row ? toFile(row) : null;
    });
  }

  claimJobs(workerId: string, max: number, leaseMs: number, limits?: LaneLimits): Promise<Job[]> {
    return this.bookkeeping((tx) => jobs.claim(tx, this.d, workerId, max, leaseMs, limits));
  }

  retryJob(jobId: number, error: string, delayMs: number): Promise<void> {
    return this.bookkeeping((tx) => jobs.retry(tx, jobId, error, delayMs));
  }

  extendLeases(workerId: string, leaseMs: number): Promise<void> {
    return this.bookkeeping((tx) => jobs.extendLeases(tx, workerId, leaseMs));
  }

  requeueRunningJobs(): Promise<number> {
    return this.bookkeeping((tx) => jobs.requeueRunning(tx));
  }

  heartbeatProcess(p: ProcessRecord): Promise<void> {
    return this.bookkeeping((tx) => processes.heartbeat(tx, p));
  }

  removeProcess(id: string): Promise<void> {
    return this.bookkeeping((tx) => processes.remove(tx, id));
  }

  listProcesses(withinSeconds: number): Promise<ProcessRecord[]> {
    return this.bookkeeping((tx) => processes.list(tx, withinSeconds, Math.floor(Date.now() / 1000)));
  }

  pendingJobs(): Promise<number> {
    return this.run(() => jobs.pending(this.db));
  }

  failJob(jobId: number, error: string): Promise<void> {
    return this.bookkeeping((tx) => failedJobs.failJob(tx, jobId, error));
  }

  failAnalysis(jobId: number, submissionId: number, failure: AnalysisFailure, error: string): Promise<void> {
    return this.bookkeeping((tx) => failedJobs.failAnalysis(tx, jobId, submissionId, failure, error));
  }

  listFailedJobs(afterId: number, limit: number): Promise<FailedJob[]> {
    return this.run(() => failedJobs.listFailed(this.db, afterId, limit));
  }

  countFailedJobs(kind?: string): Promise<number> {
    return this.run(() => failedJobs.countFailed(this.db, kind));
  }

  retryFailedJobs(ids?: number[]): Promise<number[]> {
    return this.bookkeeping((tx) => failedJobs.retryFailed(tx, ids));
  }

  jobQueueStats(): Promise<JobQueueStats[]> {
    return this.run(() => jobs.queueStats(this.db));
  }

  completeAnalysis(
    jobId: number, submissionId: number, analysis: FileAnalysis, date: number,
    list: NewNotification[] = [], opts: { emails?: boolean; emailDelayMs?: number; subfiles?: NewSubfile[]; followUp?: FollowUpJob; indexed?: FileGrams[]; communityScan?: CommunityScan | null } = {},
  ): Promise<StoredNotifications> {
    const c: Completion = { jobId, submissionId, analysis, date, list, opts };
    return this.completions ? this.completions.submit(c) : this.bookkeeping((tx) => this.complete(tx, c));
  }

  private async complete(tx: Kysely<Database>, c: Completion): Promise<StoredNotifications> {
    const corpus = await jobs.completeAnalysis(tx, c.jobId, c.submissionId, c.analysis, c.date, c.opts.communityScan);
    if (c.opts.subfiles?.length) await subfiles.storeSubfiles(tx, c.opts.subfiles, c.date, corpus);
    if (c.opts.indexed?.length) await contentIndex.indexFiles(tx, c.opts.indexed);
    const f = c.opts.followUp;
    if (f) await jobs.enqueue(tx, f.kind, f.payload, undefined, f.lane);
    return notifications.insertNotifications(tx, this.d, c.list, c.opts);
  }

  completeJob(jobId: number, list: NewNotification[], opts: { emails?: boolean; emailDelayMs?: number; community?: CommunityUpdate } = {}): Promise<StoredNotifications> {
    return this.bookkeeping(async (tx) => {
      await tx.deleteFrom('jobs').where('id', '=', jobId).execute();
      if (opts.community) await community.mergeCommunityScan(tx, opts.community);
      return notifications.insertNotifications(tx, this.d, list, opts);
    });
  }

  listFileLinks(sha256: string, direction: 'children' | 'parents', after: string | null, limit: number): Promise<FileLink[]> {
    return this.run(() => subfiles.links(this.db, sha256.toLowerCase(), direction, after, limit));
  }

  deleteJob(jobId: number): Promise<void> {
    return this.bookkeeping(async (tx) => {
      await tx.deleteFrom('jobs').where('id', '=', jobId).execute();
    });
  }

  createRuleset(r: NewRuleset): Promise<RulesetRecord> {
    return this.run(() => this.d.transaction(this.db, (tx) => rulesets.create(tx, r)));
  }

  getRuleset(id: number): Promise<RulesetRecord | null> {
    return this.run(() => rulesets.get(this.db, id));
  }

  listRulesetsOf(userId: number): Promise<RulesetRecord[]> {
    return this.run(() => rulesets.listOf(this.db, userId));
  }

  findRulesetByName(ownerId: number, name: string): Promise<RulesetRecord | null> {
    return this.run(() => rulesets.byName(this.db, ownerId, name));
  }

  sharedRulesets(userId: number): Promise<{ id: number; ownerId: number }[]> {
    return this.run(() => rulesets.shared(this.db, userId));
  }

  updateRuleset(id: number, patch: RulesetPatch): Promise<RulesetRecord | null> {
    return this.run(() => this.d.transaction(this.db, (tx) => rulesets.update(tx, id, patch)));
  }

  deleteRuleset(id: number): Promise<boolean> {
    return this.run(() => this.d.transaction(this.db, (tx) => rulesets.remove(tx, id)));
  }

  addRulesetEditor(id: number, userId: number): Promise<void> {
    return this.run(() => rulesets.addEditor(this.db, id, userId));
  }

  removeRulesetEditor(id: number, userId: number): Promise<boolean> {
    return this.run(() => rulesets.removeEditor(this.db, id, userId));
  }

  recordSlowScan(id: number, scan: SlowScan): Promise<void> {
    return this.run(() => rulesets.recordSlowScan(this.db, id, scan));
  }

  rulesGeneration(): Promise<number> {
    return this.run(() => rulesets.generation(this.db));
  }

  rulesetChangesSince(generation: number): Promise<{ generation: number; rulesetIds: number[] } | null> {
    return this.run(() => rulesets.changesSince(this.db, generation));
  }

  enabledRulesetSources(ids?: number[]): Promise<RulesetSource[]> {
    return this.run(() => rulesets.enabledSources(this.db, ids));
  }

  createRetrohuntJob(job: NewRetrohuntJob): Promise<RetrohuntJobRecord> {
    return this.run(() => this.d.transaction(this.db, (tx) => retrohunt.create(tx, job)));
  }

  getRetrohuntJob(id: string): Promise<RetrohuntJobRecord | null> {
    return this.run(() => retrohunt.get(this.db, id));
  }

  listRetrohuntJobs(ownerId: number | readonly number[], q: { status?: RetrohuntStatus; after?: { date: number; id: string }; limit: number }): Promise<RetrohuntJobRecord[]> {
    return this.run(() => retrohunt.list(this.db, ownerId, q));
  }

  countRetrohuntJobs(ownerId: number | readonly number[], status?: RetrohuntStatus): Promise<number> {
    return this.run(() => retrohunt.count(this.db, ownerId, status));
  }

  deleteRetrohuntJob(id: string): Promise<boolean> {
    return this.run(() => this.d.transaction(this.db, (tx) => retrohunt.remove(tx, id)));
  }

  abortRetrohuntJob(id: string, now: number, reason: string): Promise<RetrohuntJobRecord | null> {
    return this.run(() => this.d.transaction(this.db, (tx) => retrohunt.abort(tx, id, now, reason)));
  }

  startRetrohuntJob(id: string, now: number, totalFiles: number): Promise<RetrohuntJobRecord | null> {
    return this.bookkeeping((tx) => retrohunt.start(tx, id, now, totalFiles));
  }

  recordRetrohuntProgress(id: string, progress: RetrohuntProgress): Promise<RetrohuntJobState | null> {
    return this.run(() => this.d.transaction(this.db, (tx) => retrohunt.progress(tx, id, progress)));
  }

  finishRetrohuntJob(id: string, jobId: number, status: 'finished' | 'aborted', now: number, reason?: string): Promise<void> {
    return this.run(() => this.d.transaction(this.db, (tx) => retrohunt.finish(tx, id, jobId, status, now, reason)));
  }
  indexFiles(files: FileGrams[]): Promise<number> {
    return this.bookkeeping((tx) => contentIndex.indexFiles(tx, files));
  }

  listIndexedFiles(sha256s: string[]): Promise<string[]> {
    return this.run(() => contentIndex.indexed(this.db, sha256s));
  }

  listUnindexedFiles(after: string | null, limit: number): Promise<string[]> {
    return this.run(() => contentIndex.unindexed(this.db, after, limit));
  }

  listFilesToIndex(after: string | null, limit: number): Promise<{ sha256: string; size: number }[]> {
    return this.run(() => contentIndex.toIndex(this.db, after, limit));
  }

  listPendingGrams(afterSeq: number, limit: number): Promise<PendingGrams[]> {
    return this.run(() => contentIndex.pending(this.db, afterSeq, limit));
  }

  countPendingGrams(): Promise<{ files: number; bytes: number }> {
    return this.run(() => contentIndex.countPending(this.db));
  }

  listIndexSegments(retiredBefore?: number): Promise<ContentIndexSegment[]> {
    return this.run(() => contentIndex.segments(this.db, retiredBefore));
  }

  addIndexSegment(segment: NewContentIndexSegment, seqs: number[], replaces: number[], now: number): Promise<ContentIndexSegment> {
    return this.bookkeeping((tx) => contentIndex.addSegment(tx, segment, seqs, replaces, now));
  }

  dropIndexSegments(ids: number[]): Promise<void> {
    return this.bookkeeping((tx) => contentIndex.dropSegments(tx, ids));
  }

  resetContentIndex(now: number): Promise<number> {
    return this.bookkeeping((tx) => contentIndex.reset(tx, now));
  }

  contentIndexEpoch(): Promise<number> {
    return this.run(() => contentIndex.epoch(this.db));
  }


  listRetrohuntMatches(id: string, after: { sha256: string; rule: string } | undefined, limit: number): Promise<RetrohuntMatch[]> {
    return this.run(() => retrohunt.matches(this.db, id, after, limit));
  }

  retrohuntCorpus(range: { start: number; end: number }, after: string | null, limit: number, corpus: Corpus): Promise<FileRecord[]> {
    return this.run(() => retrohunt.corpus(this.db, range, after, limit, corpus));
  }

  retrohuntCandidates(range: { start: number; end: number }, sha256s: string[], corpus: Corpus): Promise<FileRecord[]> {
    return this.run(() => retrohunt.candidates(this.db, range, sha256s, corpus));
  }

  retrohuntCorpusSize(range: { start: number; end: number }, corpus: Corpus): Promise<number> {
    return this.run(() => retrohunt.corpusSize(this.db, range, corpus));
  }

  createZipFile(zip: NewZipFile): Promise<ZipFileRecord> {
    return this.run(() => this.d.transaction(this.db, (tx) => zipFiles.create(tx, zip)));
  }

  getZipFile(id: string): Promise<ZipFileRecord | null> {
    return this.run(() => zipFiles.get(this.db, id));
  }

  recordZipFileProgress(id: string, progress: { progress: number; filesOk: number; filesError: number }): Promise<void> {
    return this.run(() => zipFiles.progress(this.db, id, progress));
  }

  finishZipFile(id: string, jobId: number, outcome: ZipFileOutcome, now: number): Promise<void> {
    return this.run(() => this.d.transaction(this.db, (tx) => zipFiles.finish(tx, id, jobId, outcome, now)));
  }

  listEndedZipFiles(before: number, limit: number): Promise<ZipFileRecord[]> {
    return this.run(() => zipFiles.ended(this.db, before, limit));
  }

  deleteZipFile(id: string): Promise<string | null> {
    return this.run(() => this.d.transaction(this.db, (tx) => zipFiles.remove(tx, id)));
  }

  getNotification(id: number): Promise<NotificationRecord | null> {
    return this.run(() => notifications.get(this.db, id));
  }

  listNotifications(q: NotificationQuery): Promise<NotificationRecord[]> {
    return this.run(() => withQuerySignal(q.signal, this.marks, (mark) => notifications.list(this.db, withoutSignal(q), mark)));
  }

  listNotificationIds(q: NotificationQuery): Promise<number[]> {
    return this.run(() => withQuerySignal(q.signal, this.marks, (mark) => notifications.listIds(this.db, withoutSignal(q), mark)));
  }

  listStreamEntries(q: NotificationQuery): Promise<StreamEntry[]> {
    return this.run(() => withQuerySignal(q.signal, this.marks, (mark) => notifications.listStream(this.db, withoutSignal(q), mark)));
  }

  countNotifications(q: NotificationQuery, cap: number): Promise<number> {
    return this.run(() => withQuerySignal(q.signal, this.marks, (mark) => notifications.count(this.db, withoutSignal(q), cap, mark)));
  }

  deleteNotifications(ids: number[]): Promise<number> {
    if (ids.length === 0) return Promise.resolve(0);
    return this.run(() => this.d.transaction(this.db, (tx) => notifications.remove(tx, ids)));
  }

  notificationIdsBefore(date: number, max: number): Promise<number[]> {
    return this.run(() => notifications.idsBefore(this.db, date, max));
  }

  notificationsAfterId(afterId: number, max: number): Promise<NotificationRecord[]> {
    return this.run(() => notifications.afterId(this.db, afterId, max));
  }

  lastNotificationId(): Promise<number> {
    return this.run(() => notifications.lastId(this.db));
  }

  enqueueJob(kind: string, payload: Record<string, unknown>, key?: string): Promise<boolean> {
    return this.bookkeeping((tx) => jobs.enqueue(tx, kind, payload, key));
  }

  getFiles(sha256s: string[]): Promise<FileRecord[]> {
    const wanted = [...new Set(sha256s.map((h) => h.toLowerCase()))];
    if (wanted.length === 0) return Promise.resolve([]);
    return this.run(async () =>
      (await this.db.selectFrom('files').selectAll().where('sha256', 'in', wanted).execute()).map(toFile));
  }

  searchFiles(q: FileSearchQuery, signal?: AbortSignal): Promise<FileRecord[]> {
    return this.run(() => withQuerySignal(signal, this.marks, (mark) => fileSearch.search(this.db, this.d.name, q, this.commonValues, mark)));
  }

  fileChangesSince(cursor: string | null, max: number): Promise<FileChanges> {
    return this.run(() => fileChangesSince(this.db, this.d.name, cursor, max));
  }

  takePendingEmails(rulesetId: number, max: number): Promise<{ notifications: NotificationRecord[]; waiting: number }> {
    return this.run(() => notifications.pendingEmails(this.db, rulesetId, max));
  }

  clearPendingEmails(ids: number[]): Promise<void> {
    return this.run(() => this.d.transaction(this.db, (tx) => notifications.clearPendingEmails(tx, ids)));
  }

  createUploadUrl(tokenHash: string, userId: number, expiresAt: number): Promise<void> {
    return this.run(async () => {
      await this.db.insertInto('upload_urls').values({ token_hash: tokenHash, user_id: userId, expires_at: expiresAt }).execute();
    });
  }

  consumeUploadUrl(tokenHash: string, userId: number, now: number): Promise<'consumed' | 'not-yours' | null> {
    return this.run(() =>
      this.d.transaction(this.db, async (tx) => {
        // Deleting is the claim: of concurrent consumers only one gets the row back. Only its
        // owner's claim counts: another user's POST must not spend it.
        const row = await tx.deleteFrom('upload_urls').where('token_hash', '=', tokenHash).where('user_id', '=', userId)
          .returning(['expires_at']).executeTakeFirst();
        // Expired tokens are never consumed, so sweep them here instead of in a separate job.
        await tx.deleteFrom('upload_urls').where('expires_at', '<=', now).execute();
        if (row) return Number(row.expires_at) > now ? 'consumed' : null;
        const other = await tx.selectFrom('upload_urls').select('user_id').where('token_hash', '=', tokenHash).executeTakeFirst();
        return other ? 'not-yours' : null;
      }));
  }

  /**
   * Job and analysis bookkeeping: written without waiting for fsync. A crash can only undo it so
   * that a job runs again; acknowledged uploads are always written durably (addSubmission).
   */
  createGroup(name: string, createdAt: number): Promise<GroupRecord> {
    return this.run(async () => {
      try {
        return await groups.create(this.db, name, createdAt);
      } catch (e) {
        const mapped = this.d.mapError(e);
        if (mapped.code === 'AlreadyExistsError') throw alreadyExists(`Group "${name}" already exists`);
        throw mapped;
      }
    });
  }

  getGroupByName(name: string): Promise<GroupRecord | null> {
    return this.run(() => groups.byName(this.db, name));
  }

  listGroups(): Promise<GroupRecord[]> {
    return this.run(() => groups.list(this.db));
  }

  deleteGroup(id: number): Promise<boolean> {
    return this.run(() => this.d.transaction(this.db, (tx) => groups.remove(tx, id)));
  }

  setGroupMember(groupId: number, userId: number, isAdmin: boolean): Promise<void> {
    return this.run(() => groups.setMember(this.db, groupId, userId, isAdmin));
  }

  removeGroupMember(groupId: number, userId: number): Promise<boolean> {
    return this.run(() => groups.removeMember(this.db, groupId, userId));
  }

  groupMembers(groupId: number): Promise<GroupMember[]> {
    return this.run(() => groups.members(this.db, groupId));
  }

  groupsOf(userId: number): Promise<GroupRecord[]> {
    return this.run(() => groups.of(this.db, userId));
  }

  addRulesetGroup(rulesetId: number, groupId: number): Promise<void> {
    return this.run(() => groups.shareRuleset(this.db, rulesetId, groupId));
  }

  removeRulesetGroup(rulesetId: number, groupId: number): Promise<boolean> {
    return this.run(() => groups.unshareRuleset(this.db, rulesetId, groupId));
  }

  setQuota(subject: QuotaSubject, name: QuotaName, allowed: number | null): Promise<void> {
    return this.run(() => quotas.set(this.db, subject, name, allowed));
  }

  getQuotas(subject: QuotaSubject): Promise<QuotaLimits> {
    return this.run(() => quotas.of(this.db, subject));
  }

  addDailyUsage(rows: { userId: number; day: number; bucket: string; count: number }[]): Promise<void> {
    if (rows.length === 0) return Promise.resolve();
    return this.bookkeeping((tx) => quotas.addDaily(tx, rows));
  }

  addMinuteUsage(rows: { userId: number; minute: number; count: number }[], dropBefore: number): Promise<void> {
    return this.bookkeeping((tx) => quotas.addMinutes(tx, rows, dropBefore));
  }

  usageTotals(userIds: readonly number[], from: number, to: number, bucket?: string): Promise<Map<number, number>> {
    return this.run(() => quotas.totals(this.db, userIds, from, to, bucket));
  }

  minuteUsage(userIds: readonly number[], minute: number): Promise<Map<number, number>> {
    return this.run(() => quotas.minuteTotals(this.db, userIds, minute));
  }

  dailyUsage(userId: number, from: number, to: number): Promise<{ day: number; bucket: string; count: number }[]> {
    return this.run(() => quotas.daily(this.db, userId, from, to));
  }

  private bookkeeping<T>(fn: (tx: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.run(() => this.d.transaction(this.db, fn, { durable: false }));
  }

  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.d.mapError(e);
    }
  }

  private writeSubmissions(batch: NewSubmission[]): Promise<SubmissionRecord[]> {
    return this.d.transaction(this.db, async (tx) => {
      const now = Date.now();
      const out: SubmissionRecord[] = [];
      for (const s of batch) out.push(await writeSubmission(tx, this.d, s, now));
      return out;
    });
  }

  private userWhere(column: 'id' | 'username' | 'apikey_hash' | 'email', value: string | number): Promise<UserRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('users').selectAll().where(column, '=', value as never).orderBy('id').executeTakeFirst();
      return row ? toUser(row) : null;
    });
  }

  private submissionWhere(column: 'id' | 'analysis_id', value: string | number): Promise<SubmissionRecord | null> {
    return this.run(async () => {
      const row = await this.db.selectFrom('submissions')
        .innerJoin('files', 'files.sha256', 'submissions.sha256')
        .selectAll('submissions').select(['files.sha1', 'files.md5', 'files.size'])
        .where(`submissions.${column}`, '=', value as never).executeTakeFirst();
      return row ? toSubmission(row) : null;
    });
  }
}

/** The query without its signal: query modules key compiled shapes on the query's fields. */
function withoutSignal(q: NotificationQuery): NotificationQuery {
  if (!q.signal) return q;
  const { signal: _signal, ...rest } = q;
  return rest;
}
