// The files the lookup benchmarks (get-file.ts, quota-overhead.ts, content-search-load.ts) ask
// for: small random files, uploaded and analysed, each named by one of its hashes in turn (sha256,
// sha1, md5); and the closed loop of GET /files/{id} they time.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { pct, pool, request, upload, waitCompleted, type Server } from './lib.js';

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

/** `conns` connections asking GET /files/{id} of random `ids` back to back for `seconds`. */
export async function lookupLoop(s: Server, ids: string[], conns: number, seconds: number): Promise<{ n: number; p50: number; p99: number; max: number; errors: number }> {
  const end = performance.now() + seconds * 1000;
  const lats: number[] = [];
  let errors = 0;
  await pool(conns, conns, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      const r = await request('GET', `${s.url}/api/v3/files/${ids[randomInt(ids.length)]}`, { 'x-apikey': s.key });
      if (r.status !== 200) errors++;
      lats.push(performance.now() - t);
    }
  });
  const lat = Float64Array.from(lats);
  return { n: lats.length, p50: pct(lat, 50), p99: pct(lat, 99), max: lats.reduce((a, b) => Math.max(a, b), 0), errors };
}
