// Worker-thread entry that computes md5, sha1 and sha256 of large uploads while they arrive: the
// event loop hands over each written batch of bytes (transferred, not copied), so large uploads
// are hashed on another core, and the file is never read back.
import { createHash, type Hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';

export type DigestRequest =
  | { op: 'data'; id: number; bytes: ArrayBuffer }
  | { op: 'end'; id: number }
  | { op: 'drop'; id: number };

export type DigestReply =
  | { op: 'digest'; id: number; sha256: string; sha1: string; md5: string }
  | { op: 'ack'; id: number; bytes: number; spent?: ArrayBuffer }
  | { op: 'failed'; id: number; message: string };

/** Hash states of the uploads this thread is hashing, by session id. */
const sessions = new Map<number, Hash[]>();
/** Sessions whose hashing failed: their `end` is answered with the failure, never a digest. */
const failed = new Map<number, string>();

parentPort!.on('message', (m: DigestRequest) => {
  try {
    if (m.op === 'drop') {
      sessions.delete(m.id);
      failed.delete(m.id);
      return;
    }
    const failure = failed.get(m.id);
    if (failure !== undefined) {
      if (m.op === 'end') {
        failed.delete(m.id);
        parentPort!.postMessage({ op: 'failed', id: m.id, message: failure } satisfies DigestReply);
      }
      return;
    }
    let hashes = sessions.get(m.id);
    if (!hashes) sessions.set(m.id, (hashes = [createHash('sha256'), createHash('sha1'), createHash('md5')]));
    if (m.op === 'data') {
      const bytes = new Uint8Array(m.bytes);
      for (const h of hashes) h.update(bytes);
      // Lets the sender keep its bytes in flight bounded. The hashed bytes go back with it: this
      // thread allocates almost nothing, so its garbage collector would come late to free them.
      parentPort!.postMessage({ op: 'ack', id: m.id, bytes: bytes.length, spent: m.bytes } satisfies DigestReply, [m.bytes]);
      return;
    }
    sessions.delete(m.id);
    const [sha256, sha1, md5] = hashes.map((h) => h.digest('hex')) as [string, string, string];
    parentPort!.postMessage({ op: 'digest', id: m.id, sha256, sha1, md5 } satisfies DigestReply);
  } catch (e) {
    sessions.delete(m.id);
    if (m.op === 'end') parentPort!.postMessage({ op: 'failed', id: m.id, message: (e as Error).message } satisfies DigestReply);
    else failed.set(m.id, (e as Error).message);
  }
});
