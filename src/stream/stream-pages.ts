// A page of the IoC Stream as JSON text: the notifications a request selects, their files'
// attributes and meta.count. Reading and serializing is ~half of a page's cost; StreamPages lets it
// run beside the event loop (threaded-stream-pages.ts) or in it (LocalStreamPages, below).
import type { NotificationPosition, Store, StreamEntry, UserRecord } from '../store/store.js';
import { HuntingNotifications } from './hunting-notifications.js';
import { IocStream, type StreamRequest } from './ioc-stream.js';
import { FileDocuments } from './file-documents.js';
import type { StreamSerializer } from './stream-serializer.js';

export interface StreamPageRequest {
  user: UserRecord;
  stream: StreamRequest;
  /** Where links point (scheme, host and port of the API as the client sees it). */
  origin: string;
  descriptorsOnly: boolean;
  /** How far meta.count counts. */
  countCap: number;
  /** SharedRulesets.epoch of the thread that changes rulesets, so a page thread drops what it kept from before a change. */
  sharingEpoch: number;
}

export interface StreamPageText {
  /** The items as JSON, comma-separated (the inside of `data: [...]`): text, or its UTF-8 bytes from the page thread. */
  items: string | Uint8Array;
  /** How many items. */
  n: number;
  next?: NotificationPosition;
  count: number;
}

export interface StreamPages {
  /**
   * Fails with the TrawlError of a bad filter, as IocStream.list does. `signal`: the client's;
   * when it aborts, the page's statements are cancelled.
   */
  read(r: StreamPageRequest, signal?: AbortSignal): Promise<StreamPageText>;
  close(): Promise<void>;
}

/**
 * Stream entries as item JSON texts, with their files' attributes (none when `descriptorsOnly`)
 * as new as when `synced` was asked for (FileDocuments.attributes).
 */
export async function streamItemTexts(
  serializer: StreamSerializer, fileDocuments: FileDocuments, origin: string, entries: StreamEntry[], descriptorsOnly: boolean, synced?: Promise<void>,
): Promise<string[]> {
  const docs = descriptorsOnly ? new Map<string, string>() : await fileDocuments.attributes(entries.map((e) => e.sha256), synced);
  return entries.map((e) => serializer.item(origin, e, docs.get(e.sha256), descriptorsOnly));
}

/** Pages read on the caller's thread, from `store`. */
export class LocalStreamPages implements StreamPages {
  private readonly stream: IocStream;
  private readonly fileDocuments: FileDocuments;

  constructor(
    store: Store,
    private readonly serializer: StreamSerializer,
    private readonly notifications = new HuntingNotifications(store),
    fileDocuments = new FileDocuments(store, serializer),
  ) {
    this.stream = new IocStream(store, notifications);
    this.fileDocuments = fileDocuments;
  }

  async read(r: StreamPageRequest, signal?: AbortSignal): Promise<StreamPageText> {
    this.notifications.sharing.sync(r.sharingEpoch);
    // Which files changed is read beside the page.
    const synced = r.descriptorsOnly ? undefined : this.fileDocuments.fresh();
    const q = { ...(await this.stream.pageQuery(r.user, r.stream)), ...(signal ? { signal } : {}) };
    // The count does not wait for the page: on PostgreSQL they run on two connections at once.
    const [page, count] = await Promise.all([this.stream.page(q, r.stream.limit), this.stream.count(q, r.countCap)]);
    const items = (await streamItemTexts(this.serializer, this.fileDocuments, r.origin, page.items, r.descriptorsOnly, synced)).join(',');
    return { items, n: page.items.length, ...(page.next ? { next: page.next } : {}), count };
  }

  async close(): Promise<void> {}
}
