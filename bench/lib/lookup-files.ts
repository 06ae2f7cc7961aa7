// The files the lookup benchmarks (get-file.ts, quota-overhead.ts) ask for: small random files,
// uploaded and analysed, each named by one of its hashes in turn (sha256, sha1, md5).
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { pool, upload, waitCompleted, type Server } from './lib.js';

/** Uploads `count` small random files and waits for their analyses; returns an id of each. */
export async function lookupFiles(s: Server, count: number): Promise<string[]> {
  const ids: string[] = [];
  const analyses: string[] = [];
  await pool(count, 16, async (i) => {
    const data = randomBytes(randomInt(1024, 16 * 1024));
    analyses.push(await upload(s, `get-${i}.bin`, data));
    const algo = (['sha256', 'sha1', 'md5'] as const)[i % 3]!;
    ids.push(createHash(algo).update(data).digest('hex'));
  });
  await waitCompleted(s, analyses);
  return ids;
}
