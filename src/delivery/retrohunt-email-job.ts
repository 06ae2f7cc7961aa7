// The `retrohunt-email` job: tells a retrohunt job's notification_email that the job finished or
// was aborted. Queued by the store in the transaction that ends the job, so a crash between the
// two loses nothing; a crash after sending sends it again.
import type { Logger } from 'pino';
import type { JobHandler } from '../jobs/job-runner.js';
import type { Job, Store } from '../store/store.js';
import { RETROHUNT_MAIL_MATCHES, retrohuntMail } from './email-messages.js';
import type { Mailer } from './mailer.js';

export class RetrohuntEmailJob implements JobHandler {
  constructor(
    private readonly store: Store,
    /** Null when no SMTP server is configured: the e-mail is skipped (logged). */
    private readonly mailer: Mailer | null,
    /** Origin for links in messages ('' for none). */
    private readonly origin: string,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const id = String(job.payload.retrohuntId);
    const j = await this.store.getRetrohuntJob(id);
    if (!j?.notificationEmail) {
      // Deleted since it ended: there is nothing left to tell about.
    } else if (!this.mailer) {
      log.info({ retrohunt: id }, 'retrohunt job has a notification_email but no SMTP server is configured (smtpUrl): no e-mail sent');
    } else {
      const first = await this.store.listRetrohuntMatches(id, undefined, RETROHUNT_MAIL_MATCHES);
      await this.mailer.send(retrohuntMail(j, first, this.origin));
      log.info({ retrohunt: id, status: j.status }, 'retrohunt e-mail sent');
    }
    await this.store.deleteJob(job.id);
  }

  /** The SMTP server kept refusing: drop the message rather than retry forever. */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    log.error({ err, retrohunt: job.payload.retrohuntId }, 'retrohunt e-mail could not be sent');
    await this.store.deleteJob(job.id);
  }
}
