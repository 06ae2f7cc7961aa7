// ZIP files (spec 6.5, `intelligence/zip_files`): what the API asks of them. A request names
// stored files by any hash; the ZIP is built in the background by the `zip-file` job
// (zip-file-job.ts), and only its owner sees it, polls it and downloads it.
import type { Readable } from 'node:stream';
import { badRequest, objectNotFound, TrawlError } from '../model/errors.js';
import type { UserRecord } from '../model/records.js';
import { MAX_ZIP_FILE_HASHES, MAX_ZIP_PASSWORD, type ZipFileRecord } from '../model/zip-file.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { Store } from '../store/store.js';

const HASH = /^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/;

export class ZipFiles {
  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    /** Called once a ZIP file is queued (wakes this process's job runner, if any). */
    private readonly onCreated: () => void = () => undefined,
  ) {}

  /**
   * Queues a ZIP of the files `data.hashes` name, encrypted with `data.password` when one is given
   * (an empty one, as vt-cli never sends, counts as none). Hashes of files Trawl does not have
   * are accepted: they count as files_error.
   */
  async create(user: UserRecord, data: unknown): Promise<ZipFileRecord> {
    if (!data || typeof data !== 'object' || Array.isArray(data)) throw badRequest('expected a body {"data": {"hashes": [...], "password": "..."}}');
    const { hashes, password } = data as { hashes?: unknown; password?: unknown };
    if (!Array.isArray(hashes) || hashes.length === 0) throw badRequest('"hashes" must be a non-empty list of SHA-256, SHA-1 or MD5 hashes');
    if (hashes.length > MAX_ZIP_FILE_HASHES) throw badRequest(`at most ${MAX_ZIP_FILE_HASHES} hashes per ZIP file`);
    const wanted: string[] = [];
    for (const h of hashes) {
      const hash = typeof h === 'string' ? h.trim().toLowerCase() : '';
      if (!HASH.test(hash)) throw badRequest(`${JSON.stringify(h)} is not a SHA-256, SHA-1 or MD5 hash`);
      if (!wanted.includes(hash)) wanted.push(hash);
    }
    if (password !== undefined && password !== null && typeof password !== 'string') throw badRequest('"password" must be a string');
    if (typeof password === 'string' && password.length > MAX_ZIP_PASSWORD) throw badRequest(`"password" is longer than ${MAX_ZIP_PASSWORD} characters`);
    const zip = await this.store.createZipFile({
      ownerId: user.id, hashes: wanted, password: password ? password : null, creationDate: Math.floor(Date.now() / 1000),
    });
    this.onCreated();
    return zip;
  }

  /** `user`'s ZIP file `id`; NotFoundError when there is none or it is another user's. */
  async visible(user: UserRecord, id: string): Promise<ZipFileRecord> {
    const z = await this.store.getZipFile(id);
    if (!z || z.ownerId !== user.id) throw objectNotFound('zip_file', id);
    return z;
  }

  /** `user`'s finished ZIP file; NotAvailableYet while it is being built, NotFoundError when it failed. */
  async downloadable(user: UserRecord, id: string): Promise<ZipFileRecord & { blob: string; size: number }> {
    const zip = await this.visible(user, id);
    if (zip.status === 'starting' || zip.status === 'creating') {
      throw new TrawlError('NotAvailableYet', `zip_file "${id}" is not ready to download yet (status: ${zip.status}, progress: ${zip.progress})`);
    }
    if (zip.status !== 'finished' || zip.blob === null || zip.size === null) {
      throw new TrawlError('NotFoundError', `zip_file "${id}" has no ZIP to download (status: ${zip.status})`);
    }
    return { ...zip, blob: zip.blob, size: zip.size };
  }

  /** As downloadable, with the ZIP's bytes. */
  async content(user: UserRecord, id: string): Promise<{ zip: ZipFileRecord; size: number; stream: Readable }> {
    const zip = await this.downloadable(user, id);
    const stream = await this.blobs.read(zip.blob);
    if (!stream) throw new TrawlError('NotFoundError', `content of zip_file "${id}" is no longer available`);
    return { zip, size: zip.size, stream };
  }
}
