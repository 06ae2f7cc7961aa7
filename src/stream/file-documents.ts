// Serialized File attributes, kept by file. Pages of notifications repeat the same files (a rule
// matching a campaign notifies on one file many times), and building and stringifying a File
// object cost more than the rest of a page. What is kept stays fresh through the store's feed of
// changed files: before a page is served, the changes committed until then are read (one small
// query, shared by the pages that wait for it) and the files they name are read again.
import type { FileRecord, Store } from '../store/store.js';
import type { StreamSerializer } from './stream-serializer.js';

/** Files kept: a few MB (about 1 KB each), far more than one page of each of many readers. */
const DEFAULT_CAPACITY = 20_000;
/** Changes read per poll; more (a long pause between pages under heavy intake) forgets everything kept. */
const MAX_CHANGES = 10_000;
/** The revision of a file never stored: any stored revision is newer. */
const ABSENT = -1;

/**
 * A kept file: its revision and attributes; `json` null for a file never stored; undefined when
 * the feed named a change (to `revision`) that has not been read yet.
 */
interface Entry { revision: number; json: string | null | undefined }

export class FileDocuments {
  private readonly cache = new Map<string, Entry>();
  private cursor: string | null = null;
  private polling: Promise<void> | null = null;
  private nextPoll: Promise<void> | null = null;
  /** Bumped when everything kept is forgotten, so reads started before cannot put back what they saw. */
  private epoch = 0;
  /** Reads of files in flight (see poll). */
  private reads = 0;

  constructor(
    private readonly store: Store,
    private readonly serializer: Pick<StreamSerializer, 'fileAttributes'>,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /**
   * The JSON text of the `attributes` of each file, by sha256, at least as new as the file was
   * when `synced` was asked for (default: now); files never stored are left out. A page asks for
   * `fresh()` when it starts, so the poll runs beside its query rather than after it.
   */
  async attributes(sha256s: readonly string[], synced = this.fresh()): Promise<Map<string, string>> {
    await synced;
    const out = new Map<string, string>();
    const missing = new Set<string>();
    for (const sha256 of sha256s) {
      const hit = this.cache.get(sha256);
      if (hit?.json === undefined) missing.add(sha256);
      else if (hit.json !== null) out.set(sha256, hit.json);
    }
    if (missing.size > 0) {
      const epoch = this.epoch;
      this.reads++;
      const files = await this.store.getFiles([...missing]).finally(() => this.reads--);
      for (const f of files) {
        out.set(f.sha256, this.keep(f, epoch));
        missing.delete(f.sha256);
      }
      for (const sha256 of missing) if (!this.cache.has(sha256) && epoch === this.epoch) this.put(sha256, { revision: ABSENT, json: null });
    }
    return out;
  }

  /**
   * Serializes `f`, read by the caller, reusing what is kept when it is of the same revision. Not
   * kept: only reads made here are known to be no older than the changes the feed has named.
   */
  serialize(f: FileRecord): string {
    const kept = this.cache.get(f.sha256);
    if (kept && kept.revision === (f.revision ?? 0) && typeof kept.json === 'string') return kept.json;
    return this.serializer.fileAttributes(f);
  }

  /** Serializes `f`, read since `epoch`, and keeps it unless a newer change was named meanwhile. */
  private keep(f: FileRecord, epoch: number): string {
    const revision = f.revision ?? 0;
    const kept = this.cache.get(f.sha256);
    const json = this.serialize(f);
    // A change newer than this read was announced meanwhile: serve what was read, keep waiting for the new one.
    if (epoch === this.epoch && !(kept && kept.revision > revision)) this.put(f.sha256, { revision, json });
    return json;
  }

  private put(sha256: string, entry: Entry): void {
    // Oldest insertion first out: cheap, and files are inserted again when they change.
    if (!this.cache.has(sha256) && this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(sha256, entry);
  }

  /**
   * Resolves once a poll of the feed that started after this call has been applied. Callers
   * await it after other work (a page's query): a failure meanwhile is not an unhandled rejection.
   */
  fresh(): Promise<void> {
    // One in flight started before this call: wait for the next, shared with whoever else waits.
    const synced = this.polling === null ? this.poll() : (this.nextPoll ??= this.polling.catch(() => {}).then(() => {
      this.nextPoll = null;
      return this.poll();
    }));
    synced.catch(() => {});
    return synced;
  }

  private poll(): Promise<void> {
    const p: Promise<void> = this.store.fileChangesSince(this.cursor, MAX_CHANGES).then(({ cursor, changes }) => {
      if (changes === null) {
        this.cache.clear();
        this.epoch++;
      } else {
        for (const { sha256, revision } of changes) {
          const kept = this.cache.get(sha256);
          if (kept ? kept.revision >= revision && kept.json !== undefined : this.reads === 0) continue;
          // Marked even when not kept while files are being read: a read in flight must not keep an older revision.
          this.put(sha256, { revision: Math.max(revision, kept?.revision ?? ABSENT), json: undefined });
        }
      }
      this.cursor = cursor;
    }).finally(() => {
      if (this.polling === p) this.polling = null;
    });
    this.polling = p;
    return p;
  }
}
