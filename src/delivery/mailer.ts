// Sending e-mail through the configured SMTP server (nodemailer, loaded only when configured).
import type { Transporter } from 'nodemailer';

export interface Mail {
  to: string[];
  subject: string;
  text: string;
}

export interface MailerOptions {
  /** smtp://[user:pass@]host:port or smtps://...; nodemailer's URL form. */
  smtpUrl: string;
  from: string;
}

export class Mailer {
  private transport: Promise<Transporter> | null = null;

  constructor(private readonly opts: MailerOptions) {}

  private async transporter(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then((m) => m.default.createTransport(this.opts.smtpUrl));
    return this.transport;
  }

  /**
   * Sends one message; rejects when the server refuses it or cannot be reached. Several recipients
   * get it as Bcc (the To header names none of them), so no recipient sees the others.
   */
  async send(mail: Mail): Promise<void> {
    if (mail.to.length === 0) return;
    const recipients = mail.to.length === 1 ? { to: mail.to } : { to: 'undisclosed-recipients:;', bcc: mail.to };
    await (await this.transporter()).sendMail({ from: this.opts.from, ...recipients, subject: mail.subject, text: mail.text });
  }

  async close(): Promise<void> {
    if (this.transport) (await this.transport).close();
  }
}
