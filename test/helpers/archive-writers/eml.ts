// E-mail (RFC 5322 with MIME, RFC 2045-2049): a multipart/mixed message with CRLF lines; the
// body first (text/plain, or multipart/alternative of text and HTML), then each attachment in
// base64 with Content-Disposition: attachment. Non-ASCII file names use RFC 2231 (filename*)
// and, for old readers, an RFC 2047 encoded word in name=.
import { TIME, bytes } from './common.js';

export interface EmlAttachment {
  filename: string;
  content: Buffer | string;
  contentType: string;
}

const base64Lines = (b: Buffer): string => (b.toString('base64').match(/.{1,76}/g) ?? ['']).join('\r\n');

function textPart(type: 'plain' | 'html', body: string): string {
  return `Content-Type: text/${type}; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(Buffer.from(body))}\r\n`;
}

/** A multipart/mixed RFC 822 message with a text (and optionally HTML) body and attachments. */
export function makeEml(msg: { text: string; html?: string; attachments: readonly EmlAttachment[] }): Buffer {
  const mixed = 'trawl-mixed-boundary-7f3a';
  const alt = 'trawl-alt-boundary-9c1e';
  const lines: string[] = [
    'From: Trawl Test <sender@example.invalid>',
    'To: Analyst <analyst@example.invalid>',
    'Subject: Trawl extraction test',
    `Date: ${new Date(TIME * 1000).toUTCString().replace('GMT', '+0000')}`,
    'Message-ID: <extraction-test@example.invalid>',
    'MIME-Version: 1.0',
    `Content-Type: multipart/mixed; boundary="${mixed}"`,
    '',
    'This is a multi-part message in MIME format.',
    `--${mixed}`,
  ];
  let body: string;
  if (msg.html !== undefined) {
    body = `Content-Type: multipart/alternative; boundary="${alt}"\r\n\r\n--${alt}\r\n${textPart('plain', msg.text)}--${alt}\r\n${textPart('html', msg.html)}--${alt}--\r\n`;
  } else body = textPart('plain', msg.text);
  const parts = [body];
  for (const a of msg.attachments) {
    const ascii = /^[\x20-\x7e]*$/.test(a.filename) && !/["\\]/.test(a.filename);
    const name = ascii ? `"${a.filename}"` : `"=?UTF-8?B?${Buffer.from(a.filename).toString('base64')}?="`;
    const disposition = ascii ? `filename="${a.filename}"` : `filename*=UTF-8''${encodeURIComponent(a.filename)}`;
    parts.push(
      `Content-Type: ${a.contentType}; name=${name}\r\nContent-Disposition: attachment; ${disposition}\r\nContent-Transfer-Encoding: base64\r\n\r\n${base64Lines(bytes(a.content))}\r\n`,
    );
  }
  return Buffer.from(lines.join('\r\n') + '\r\n' + parts.join(`--${mixed}\r\n`) + `--${mixed}--\r\n`, 'utf8');
}
