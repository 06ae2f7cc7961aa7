// Retention (spec 4.6, 10.13): notifications older than `days` are deleted by a background task,
// oldest first, in small batches so that reads are never held up. 0 days keeps them forever.
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

const BATCH = 500;
const DAY = 86_400;

export class Retention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | null = null;

  constructor(
    private readonly store: Store,
    private readonly days: number,
    private readonly log: Logger,
    private readonly everyMs = 3_600_000,
  ) {}

  start(): void {
    if (this.days <= 0) return;
    const tick = () => void this.sweep().catch((err) => this.log.warn({ err }, 'retention sweep failed; retrying later'));
    setTimeout(tick, 5_000).unref();
    this.timer = setInterval(tick, this.everyMs);
    this.timer.unref();
  }

  /** Deletes every notification older than the retention period; returns how many. */
  sweep(now = Math.floor(Date.now() / 1000)): Promise<number> {
    if (this.days <= 0) return Promise.resolve(0);
    this.running ??= (async () => {
      let deleted = 0;
      for (;;) {
        const ids = await this.store.notificationIdsBefore(now - this.days * DAY, BATCH);
        if (ids.length === 0) break;
        deleted += await this.store.deleteNotifications(ids);
      }
      if (deleted > 0) this.log.info({ deleted, days: this.days }, 'old notifications deleted');
      return deleted;
    })().finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
  }
}
