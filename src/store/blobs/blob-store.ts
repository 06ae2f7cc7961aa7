// The blob store contract: file contents, content-addressed by sha256.
import type { Readable } from 'node:stream';

/** A blob being written: bytes go in, and it becomes visible only when committed. */
export interface BlobWriter {
  /** Appends bytes. Resolves when the bytes are accepted (back-pressure is honoured). */
  write(chunk: Buffer): Promise<void>;
  /** Where the bytes written so far can be read back locally (for hashing them off-thread);
   * null for stores without local files. */
  readonly localPath: string | null;
  /** Makes the bytes written so far durable, ahead of commit (which then need not wait). */
  flush(): Promise<void>;
  /**
   * Makes the bytes durable (fsynced) and visible under `sha256`. Idempotent across writers:
   * committing content that is already stored keeps one copy and succeeds.
   */
  commit(sha256: string): Promise<void>;
  /** Drops the partial blob. Safe to call after a failure or twice. */
  abort(): Promise<void>;
}

/** A blob's name: its sha256 in lowercase hex. Anything else is no blob of any store. */
export const BLOB_NAME = /^[0-9a-f]{64}$/;

/** The deployment marker's name at the top of every store (deployment/blob-store-marker.ts). */
export const MARKER_NAME = 'trawl-marker';

/**
 * Where a blob lies in every store: `<sha256[0:2]>/<sha256>` under the store's folder or key
 * prefix (256 folders, so that none holds every blob).
 */
export function blobKey(sha256: string): string {
  return `${sha256.slice(0, 2)}/${sha256}`;
}

/** Bytes `start` to `end` of a blob, both included (as in HTTP's Range). */
export interface BlobRange {
  start: number;
  end: number;
}

export interface BlobStore {
  /** Starts a new blob. Fails with TransientError when storage cannot take it (full, read-only, unreachable). */
  create(): Promise<BlobWriter>;
  /** True when a committed blob with this sha256 exists. */
  has(sha256: string): Promise<boolean>;
  /** Streams a committed blob, or a range of it; null when it does not exist. */
  read(sha256: string, range?: BlobRange): Promise<Readable | null>;
  /**
   * Removes a committed blob; nothing when there is none. Only for blobs no file refers to (the
   * content index's retired segments): stored files are never deleted.
   */
  delete(sha256: string): Promise<void>;
  /** A local filesystem path to the committed blob, for analyzers that need one; null when absent. */
  localPath(sha256: string): Promise<string | null>;
  /**
   * Where the committed blob `sha256` is on the local filesystem if it is stored, without looking
   * (no I/O: whoever reads it finds out whether it is there); null for stores that keep blobs
   * elsewhere, whose localPath fetches a copy. For callers that read many blobs a thread away.
   */
  knownPath(sha256: string): string | null;
  /**
   * The path of a new local folder to make files in and then adopt (e.g. files unpacked from
   * archives). The folder is not created: whoever first writes there makes it (`mkdir -p`), so a
   * walk that finds no container costs no folder at all.
   */
  scratchDir(): Promise<string>;
  /**
   * Stores files made in a scratch folder as blobs under their sha256 (the caller hashed them),
   * moving them where it can. Durable when it resolves, like commit.
   */
  adopt(files: readonly { path: string; sha256: string }[]): Promise<void>;
  /** Removes a scratch folder with whatever is left in it. */
  dropScratch(dir: string): Promise<void>;
  /**
   * Removes what processes no longer alive left behind (blobs being written, scratch folders):
   * every process's local work is in a folder of its own, kept while its id is in `live`.
   */
  sweep(live: ReadonlySet<string>): Promise<void>;
  /** Resolves when the store is reachable and writable; throws (TransientError) with why not. For `/ready`. */
  check(): Promise<void>;
  /**
   * The deployment marker: a token every process finds both here and in the database, so that
   * processes that do not share one blob store refuse to start (see blobs/deployment-marker.ts).
   */
  readMarker(): Promise<string | null>;
  writeMarker(token: string): Promise<void>;
  /**
   * The sha256 of every committed blob, each once, in no promised order; never blobs being
   * written, scratch files or the marker. For copying a whole store (trawl migrate): it pages
   * through the store as it goes, so any number of blobs is listed in bounded memory.
   */
  list(): AsyncIterable<string>;
  /** Where the blobs are, for messages (a folder or an s3:// URL). */
  describe(): string;
  /** Releases connections. */
  close(): void;
}
