// E-mail messages (.eml, RFC 822): attachments and inline parts (images, forwarded messages) and
// the decoded text and HTML bodies, which in the raw message are hidden behind base64 or
// quoted-printable from rules scanning it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import PostalMime from 'postal-mime';
import type { ExtractContext, ExtractOutcome, Extractor } from '../extractor.js';

/** The parser holds the message and its parts in memory: larger messages are not unpacked. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** A file name for a part, safe in one folder: no separators, no dot-names, bounded length. */
function safeName(name: string | null | undefined, fallback: string, taken: Set<string>): string {
  let base = (name ?? '').replace(/[/\\\0]/g, '_').replace(/^\.+/, '').slice(0, 200) || fallback;
  for (let i = 1; taken.has(base); i++) base = `${i}_${base}`;
  taken.add(base);
  return base;
}

async function extract(ctx: ExtractContext): Promise<ExtractOutcome> {
  const raw = await readFile(ctx.path);
  if (raw.length > MAX_MESSAGE_BYTES) return { error: `not unpacked: messages over ${MAX_MESSAGE_BYTES} bytes are not parsed` };
  const email = await PostalMime.parse(raw, { attachmentEncoding: 'arraybuffer' });
  const parts: { name: string; bytes: Uint8Array }[] = [];
  const taken = new Set<string>();
  email.attachments.forEach((a, i) => {
    const content = typeof a.content === 'string' ? Buffer.from(a.content) : new Uint8Array(a.content);
    parts.push({ name: safeName(a.filename, `attachment-${i + 1}`, taken), bytes: content });
  });
  if (email.html) parts.push({ name: safeName('body.html', 'body.html', taken), bytes: Buffer.from(email.html) });
  if (email.text) parts.push({ name: safeName('body.txt', 'body.txt', taken), bytes: Buffer.from(email.text) });
  let files = 0;
  let bytes = 0;
  for (const p of parts) {
    if (p.bytes.length === 0) continue;
    if (++files > ctx.caps.maxFiles) return { limit: 'files' };
    bytes += p.bytes.length;
    if (bytes > ctx.caps.maxBytes) return { limit: ctx.caps.bytesLimit };
    if (Date.now() > ctx.caps.deadline) return { limit: 'time' };
    await writeFile(join(ctx.outDir, p.name), p.bytes);
  }
  return {};
}

export const email: Extractor = {
  type: 'EMAIL',
  accepts: ({ mime }) => mime === 'message/rfc822',
  extract,
};
