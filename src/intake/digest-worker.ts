// Worker-thread entry that computes md5, sha1 and sha256 of a just-written upload, reading it
// back from the page cache, so large uploads are hashed on another core than the event loop's.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

export type DigestRequest = { id: number; path: string };

export type DigestReply =
  | { op: 'digest'; id: number; sha256: string; sha1: string; md5: string }
  | { op: 'failed'; id: number; message: string };

const buf = Buffer.alloc(1024 * 1024);

function hashFile(path: string): [string, string, string] {
  const hashes = [createHash('sha256'), createHash('sha1'), createHash('md5')];
  const fd = openSync(path, 'r');
  try {
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) for (const h of hashes) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return hashes.map((h) => h.digest('hex')) as [string, string, string];
}

parentPort!.on('message', ({ id, path }: DigestRequest) => {
  try {
    const [sha256, sha1, md5] = hashFile(path);
    parentPort!.postMessage({ op: 'digest', id, sha256, sha1, md5 } satisfies DigestReply);
  } catch (e) {
    parentPort!.postMessage({ op: 'failed', id, message: (e as Error).message } satisfies DigestReply);
  }
});
