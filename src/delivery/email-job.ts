// The `email` job: sends the notifications of one ruleset that wait in pending_emails, as one
// message (or a digest), and clears them. Queued once per ruleset while matches arrive (see the
// store's completeAnalysis), so a burst of matches becomes a few digests, not a flood.
import type { Logger } from 'pino';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Job, Store } from '../store/store.js';
import { notificationMail } from './email-messages.js';
import type { Mailer } from './mailer.js';

/** Notifications per message. */
const DIGEST_MAX = 100;

export class EmailJob implements JobHandler {
  constructor(
    private readonly store: Store,
    private readonly mailer: Mailer,
    /** Origin for links in messages ('' for none). */
    private readonly origin: string,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const rulesetId = Number(job.payload.rulesetId);
    for (;;) {
      const { notifications, waiting } = await this.store.takePendingEmails(rulesetId, DIGEST_MAX);
      if (notifications.length === 0) break;
      const r = await this.store.getRuleset(rulesetId);
      if (r && r.notificationEmails.length > 0) {
        await this.mailer.send(notificationMail(r, notifications, this.origin, waiting - notifications.length));
        log.info({ ruleset: rulesetId, notifications: notifications.length, to: r.notificationEmails.length }, 'notification e-mail sent');
      }
      await this.store.clearPendingEmails(notifications.map((n) => n.id));
    }
    await this.store.deleteJob(job.id);
  }

  /** The SMTP server kept refusing: drop this batch rather than retry forever. */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    const rulesetId = Number(job.payload.rulesetId);
    const { notifications } = await this.store.takePendingEmails(rulesetId, 10_000);
    await this.store.clearPendingEmails(notifications.map((n) => n.id));
    log.error({ err, ruleset: rulesetId, dropped: notifications.length }, 'notification e-mails could not be sent');
    await this.store.deleteJob(job.id);
  }
}
