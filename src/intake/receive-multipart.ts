// Streams a multipart/form-data upload into the blob store, hashing on the way, so a 650 MB file
// is never held in memory. Resolves only after the blob is durable; on any failure the partial
// blob is removed and a VirusTotal-style error is thrown.
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import busboy from 'busboy';
import { TrawlError, badRequest, tooLarge } from '../model/errors.js';
import type { BlobStore, BlobWriter } from '../store/blobs/blob-store.js';
import type { DigestPool, DigestSession } from './digests.js';

export interface ReceivedFile {
  sha256: string;
  sha1: string;
  md5: string;
  size: number;
  /** File name from the part's Content-Disposition; null when none was given. */
  name: string | null;
  password: string | null;
}

const MAX_NAME = 1024;
const WRITE_BATCH = 1024 * 1024;

function cleanName(name: string | undefined): string | null {
  // Keep only the last path component: names are labels, never paths.
  const base = (name ?? '').split(/[/\\]/).pop()!.replace(/[\u0000-\u001f]/g, '').trim();
  return base ? base.slice(0, MAX_NAME) : null;
}

/** Receives the `file` part (and optional `password` field) of a multipart request body. */
export async function receiveMultipart(
  headers: IncomingHttpHeaders,
  body: Readable,
  blobs: BlobStore,
  hashing: DigestPool,
  maxBytes: number,
  /** Told the size of each batch of the file once it is written. */
  onBytes: (bytes: number) => void = () => undefined,
): Promise<ReceivedFile> {
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers,
      defParamCharset: 'utf8',
      limits: { fileSize: maxBytes, files: 4, fields: 20, fieldSize: 64 * 1024, parts: 50 },
    });
  } catch (e) {
    throw badRequest(`invalid multipart request: ${(e as Error).message}`);
  }

  let writer: BlobWriter | null = null;
  let digests: DigestSession | null = null;
  let fileDone: Promise<Omit<ReceivedFile, 'password'>> | null = null;
  let password: string | null = null;

  const finished = new Promise<void>((resolve, reject) => {
    parser.on('file', (field, stream, info) => {
      if (field !== 'file' || fileDone) {
        // A part cut short errors its stream ("Unexpected end of form"): unheard, that crashed the
        // process (found by test/api-grammar-fuzz.test.ts). The parser reports it to the upload.
        stream.on('error', () => undefined);
        stream.resume();
        // Keeping one of two files and saying nothing would leave the other unanalysed.
        if (field === 'file') reject(badRequest('more than one "file" part: upload one file per request'));
        return;
      }
      // Errors before the loop below starts reading (e.g. the client aborts while the blob is
      // being created) must not go unhandled; the loop still sees them as the stream is errored.
      stream.on('error', () => undefined);
      fileDone = (async () => {
        const w = await blobs.create();
        writer = w;
        const d = hashing.start();
        digests = d;
        let size = 0;
        // Chunks are written in batches of ~1 MB: far fewer filesystem calls than one per chunk.
        // Once written, a batch goes to the digests (which may hand it to another thread).
        let batch: Buffer[] = [];
        let batchBytes = 0;
        const flush = async () => {
          const buf = batch.length === 1 ? batch[0]! : Buffer.concat(batch, batchBytes);
          batch = [];
          batchBytes = 0;
          await w.write(buf);
          onBytes(buf.length);
          await d.add(buf);
        };
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          size += chunk.length;
          batch.push(chunk);
          batchBytes += chunk.length;
          if (batchBytes >= WRITE_BATCH) await flush();
        }
        if (batchBytes > 0) await flush();
        if ((stream as unknown as { truncated: boolean }).truncated) {
          throw tooLarge(`file is larger than the ${maxBytes} bytes accepted here` +
            (maxBytes <= 32 * 1024 * 1024 ? '; use /api/v3/files/upload_url for larger files' : ''));
        }
        // The last bytes are hashed (on a worker, for large files) while they are synced to disk.
        const [digest] = await Promise.all([d.digest(), w.flush()]);
        return { ...digest, size, name: cleanName(info.filename) };
      })();
      // A storage or size failure ends the upload at once: leaving the for-await loop destroyed
      // the part's stream, so busboy would never finish the body.
      fileDone.catch(reject);
    });
    parser.on('field', (name, value, info) => {
      if (name === 'password' && !info.valueTruncated) password = value || null;
    });
    parser.on('filesLimit', () => reject(badRequest('too many file parts: upload one file per request')));
    parser.on('close', resolve);
    parser.on('error', (e: Error) => reject(badRequest(`malformed multipart body: ${e.message}`)));
    body.on('error', (e) => reject(badRequest(`upload interrupted: ${e.message}`)));
    body.on('aborted', () => reject(badRequest('upload interrupted: the client closed the connection')));
  });

  body.pipe(parser);
  try {
    await finished;
    if (!fileDone) throw badRequest('missing "file" part in multipart/form-data body');
    const file = await (fileDone as Promise<Omit<ReceivedFile, 'password'>>);
    await (writer as BlobWriter | null)!.commit(file.sha256);
    return { ...file, password };
  } catch (e) {
    body.unpipe(parser);
    body.resume();
    // Wait for the file loop to stop writing before removing its partial blob.
    await (fileDone as Promise<unknown> | null)?.catch(() => undefined);
    await (writer as BlobWriter | null)?.abort();
    (digests as DigestSession | null)?.drop();
    if (e instanceof TrawlError) throw e;
    throw badRequest(`invalid upload: ${(e as Error).message}`);
  }
}
