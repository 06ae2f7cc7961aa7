// The live feed behind `GET /ioc_stream` with `Accept: text/event-stream`: one poller per process
// follows new notifications (by id) and hands each, with its File, to every follower whose query
// matches. One database query per interval however many followers are connected.
import type { Logger } from 'pino';
import type { FileRecord, NotificationRecord, Store } from '../store/store.js';

export interface FeedEvent {
  notification: NotificationRecord;
  file: FileRecord | null;
  /** Serializations shared by the followers (e.g. by origin), filled lazily by whoever sends it. */
  cache: Map<string, string>;
}

interface Follower {
  match(n: NotificationRecord): boolean;
  send(e: FeedEvent): void;
  /** Called when the feed shuts down. */
  end(): void;
}

/**
 * Notifications from concurrent writers (PostgreSQL, several processes) may commit out of id
 * order: each poll looks this many ids back and skips those it has seen.
 */
const REWIND = 256;
const BATCH = 500;
/**
 * Nudged polls come at most this often: each reads the rewind window again, and a burst of
 * matching uploads would otherwise poll back to back.
 */
const NUDGE_GAP_MS = 10;

export class LiveFeed {
  private readonly followers = new Set<Follower>();
  private lastId = -1;
  private readonly seen = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  /** A nudge came while a poll ran: poll again as soon as it ends. */
  private again = false;
  private lastPollAt = 0;
  private nudged: NodeJS.Timeout | undefined;
  private starting: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly pollMs: number,
    private readonly log: Logger,
  ) {}

  /**
   * Starts following: `send` gets every matching notification stored after `ready` resolved.
   * Returns the function that stops.
   */
  follow(match: (n: NotificationRecord) => boolean, send: (e: FeedEvent) => void, end: () => void): { stop(): void; ready: Promise<void> } {
    const f: Follower = { match, send, end };
    this.followers.add(f);
    if (!this.timer) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
      this.starting = this.poll();
    }
    return {
      ready: this.starting,
      stop: () => {
        this.followers.delete(f);
        if (this.followers.size === 0) {
          clearInterval(this.timer);
          this.timer = undefined;
          this.lastId = -1;
          this.seen.clear();
        }
      },
    };
  }

  /**
   * Notifications were just stored by this process: poll now rather than at the next tick (a
   * tick is up to `pollMs` away). Other processes' notifications still arrive by polling.
   */
  nudge(): void {
    if (!this.timer || this.nudged) return;
    if (this.polling) {
      this.again = true;
      return;
    }
    const wait = this.lastPollAt + NUDGE_GAP_MS - Date.now();
    if (wait <= 0) {
      void this.poll();
      return;
    }
    this.nudged = setTimeout(() => {
      this.nudged = undefined;
      if (this.timer) void this.poll();
    }, wait);
    this.nudged.unref();
  }

  get size(): number {
    return this.followers.size;
  }

  /** Stops polling and ends every follower (their connections must not hold a shutdown up). */
  close(): void {
    clearInterval(this.timer);
    clearTimeout(this.nudged);
    this.timer = undefined;
    for (const f of [...this.followers]) f.end();
    this.followers.clear();
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    this.lastPollAt = Date.now();
    try {
      // The first poll only learns where the feed stands (followers catch up from their cursor),
      // and marks the rewind window as seen.
      if (this.lastId < 0) {
        const last = await this.store.lastNotificationId();
        for (const n of await this.store.notificationsAfterId(Math.max(0, last - REWIND), REWIND + 1)) this.seen.add(n.id);
        this.lastId = last;
        return;
      }
      let from = Math.max(0, this.lastId - REWIND);
      for (;;) {
        const raw = await this.store.notificationsAfterId(from, BATCH);
        const fresh = raw.filter((n) => !this.seen.has(n.id));
        const files = fresh.length ? new Map((await this.store.getFiles(fresh.map((n) => n.sha256))).map((f) => [f.sha256, f])) : new Map<string, FileRecord>();
        for (const n of fresh) {
          this.seen.add(n.id);
          this.lastId = Math.max(this.lastId, n.id);
          const event: FeedEvent = { notification: n, file: files.get(n.sha256) ?? null, cache: new Map() };
          for (const f of this.followers) if (f.match(n)) f.send(event);
        }
        if (raw.length < BATCH) break;
        from = raw[raw.length - 1]!.id;
      }
      for (const id of this.seen) if (id <= this.lastId - REWIND) this.seen.delete(id);
    } catch (err) {
      this.log.warn({ err }, 'live feed poll failed; retrying');
    } finally {
      this.polling = false;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    }
  }
}
