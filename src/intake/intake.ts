// Accepting files: an upload becomes a durable blob plus a durable submission record (with an
// `analyze` job) before it is acknowledged. Also issues and redeems one-time upload URLs, and
// takes an operator's files for the goodware corpus.
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { forbidden, objectNotFound, TrawlError } from '../model/errors.js';
import type { Corpus } from '../model/records.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { NewSubmission, Store, SubmissionRecord, UserRecord } from '../store/store.js';
import type { DigestPool } from './digests.js';
import type { IntakeLoad } from './intake-load.js';
import { receiveMultipart } from './receive-multipart.js';
import type { CountryLookup, SourceKeys } from './source.js';

export interface IntakeOptions {
  maxUploadBytes: number;
  maxLargeUploadBytes: number;
  uploadUrlTtl: number;
}

export interface UploadRequest {
  headers: IncomingHttpHeaders;
  body: Readable;
  ip: string;
}

const now = () => Math.floor(Date.now() / 1000);
/** A new analysis id: opaque to clients, unique by its random part. */
const analysisIdOf = (md5: string, date: number) => Buffer.from(`${md5}:${date}:${randomBytes(6).toString('hex')}`).toString('base64url');
const hashToken = (t: string) => createHash('sha256').update(t).digest('hex');

export class Intake {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly hashing: DigestPool,
    private readonly sources: SourceKeys,
    private readonly country: CountryLookup,
    private readonly opts: IntakeOptions,
    /** Called after each acknowledged upload or re-analysis: local workers start at once, metrics count uploads. */
    private readonly onSubmitted: (submission: SubmissionRecord, reanalysis: boolean) => void = () => undefined,
    /** Counts received bytes, for work that gives way to bulk uploads. */
    private readonly load: IntakeLoad | null = null,
  ) {}

  /** POST /files: an upload of at most maxUploadBytes. */
  upload(user: UserRecord, req: UploadRequest): Promise<SubmissionRecord> {
    return this.receive(user, req, this.opts.maxUploadBytes);
  }

  /**
   * An operator's file for the goodware corpus (records.ts Corpus), up to maxLargeUploadBytes:
   * stored, analysed and unpacked like an upload, never hunted. Administrators only: anyone else
   * is refused (ForbiddenError) before the body is read.
   */
  async uploadGoodware(user: UserRecord, req: UploadRequest): Promise<SubmissionRecord> {
    if (!user.isAdmin) throw forbidden('only administrators can add files to the goodware corpus');
    return this.receive(user, req, this.opts.maxLargeUploadBytes, 'goodware');
  }

  /** Issues a one-time upload token for `user`, valid for uploadUrlTtl seconds. */
  async newUploadToken(user: UserRecord): Promise<string> {
    const token = randomBytes(24).toString('base64url');
    await this.store.createUploadUrl(hashToken(token), user.id, now() + this.opts.uploadUrlTtl);
    return token;
  }

  /**
   * POST to an upload URL: the token must be unused, unexpired and belong to the caller. It is
   * spent before the body is read, so a URL works once even if that upload then fails; another
   * user's POST is refused without spending it.
   */
  async uploadWithToken(user: UserRecord, token: string, req: UploadRequest): Promise<SubmissionRecord> {
    const claim = await this.store.consumeUploadUrl(hashToken(token), user.id, now());
    if (claim === 'not-yours') throw new TrawlError('ForbiddenError', 'this upload URL was issued to another user');
    if (!claim) throw new TrawlError('NotFoundError', 'upload URL is unknown, expired or already used; get a new one from /api/v3/files/upload_url');
    return this.receive(user, req, this.opts.maxLargeUploadBytes);
  }

  /**
   * `POST /files/{id}/analyse`: analyses and hunts a stored file again, as `user`'s submission
   * (their source key and country) that leaves the file's names, dates and counts alone
   * (NewSubmission.reanalysis). NotFoundError when the file or its content is not stored.
   */
  async reanalyze(user: UserRecord, hash: string, req: Pick<UploadRequest, 'headers' | 'ip'>): Promise<SubmissionRecord> {
    const file = await this.store.getFile(hash);
    if (!file) throw objectNotFound('File', hash);
    if (!(await this.blobs.has(file.sha256))) throw new TrawlError('NotFoundError', `content of file "${file.sha256}" is not available`);
    const submission = await this.record(user, file, req, { name: null, password: null, reanalysis: true });
    this.onSubmitted(submission, true);
    return submission;
  }

  private async receive(user: UserRecord, req: UploadRequest, maxBytes: number, corpus: Corpus = 'main'): Promise<SubmissionRecord> {
    const file = await receiveMultipart(req.headers, req.body, this.blobs, this.hashing, maxBytes, (n) => this.load?.add(n));
    const submission = await this.record(user, file, req, { name: file.name, password: file.password, corpus });
    this.onSubmitted(submission, false);
    return submission;
  }

  /** Records `user`'s submission of `file` (stored already), with an analysis to run. */
  private record(user: UserRecord, file: { sha256: string; sha1: string; md5: string; size: number }, req: Pick<UploadRequest, 'headers' | 'ip'>,
    extra: Pick<NewSubmission, 'name' | 'password' | 'corpus' | 'reanalysis'>): Promise<SubmissionRecord> {
    const date = now();
    return this.store.addSubmission({
      analysisId: analysisIdOf(file.md5, date), sha256: file.sha256, sha1: file.sha1, md5: file.md5, size: file.size,
      userId: user.id, date, sourceKey: this.sources.keyOf(user.id), sourceCountry: this.country(req.ip, req.headers), ...extra,
    });
  }
}
