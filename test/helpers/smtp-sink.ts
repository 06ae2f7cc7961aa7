// A real SMTP server on loopback (smtp-server) that keeps every message it accepts, for the
// e-mail tests; it can be told to refuse connections for a while, as a mail server that is down.
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: string;
}

export interface SmtpSink {
  port: number;
  messages: Received[];
  /** While true, every connection is refused (counted in `refused`). */
  refuse: boolean;
  refused: number;
  close(): Promise<void>;
}

export async function smtpSink(): Promise<SmtpSink> {
  const sink: SmtpSink = { port: 0, messages: [], refuse: false, refused: 0, close: async () => undefined };
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onConnect(_session, done) {
      if (!sink.refuse) return done();
      sink.refused++;
      done(Object.assign(new Error('mail server unavailable (test)'), { responseCode: 421 }));
    },
    onData(stream, session, done) {
      let raw = '';
      stream.setEncoding('utf8');
      stream.on('data', (c: string) => (raw += c));
      stream.on('end', () => {
        sink.messages.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw });
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  sink.port = (server.server.address() as AddressInfo).port;
  sink.close = () => new Promise((r) => server.close(() => r()));
  return sink;
}

/** The text of a message, long headers unfolded and quoted-printable decoded. */
export const mailText = (m: Received) =>
  m.raw.replace(/\r\n[ \t]+/g, ' ').replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
