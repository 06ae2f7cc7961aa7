// Intake to object storage against intake to a folder: an API process (no analysis, which would
// share the cores) receives the same real files, 16 uploads in flight, with its blobs in a folder
// and then in S3-compatible storage (s3rver on loopback, in this process: its CPU is on the same
// cores, as a MinIO on the same machine would be). Small files (/usr, under 16 KB) and large ones
// (/usr/lib and /usr/bin, 64 KB and more). An upload is acknowledged once its blob is durable in
// the store (fsynced in the folder; stored by the S3 server).
//
//   node dist/bench/intake-s3.js [small files=3000] [large MB=300]
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { Agent as HttpAgent } from 'node:http';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { S3RVER_CREDENTIALS } from '../test/helpers/s3-server.js';
import { blobFlags, serve, startS3Process } from './lib/deployment.js';
import { MB, pct, pool, table, upload, verdict, type Server } from './lib/lib.js';
import { largeCorpus, smallCorpus, type CorpusFile } from './corpora/corpus.js';

const SMALL = Number(process.argv[2] ?? 3000);
const LARGE_MB = Number(process.argv[3] ?? 300);

interface Result { files: number; bytes: number; seconds: number; p99: number }

async function intake(kind: 'folder' | 's3', files: CorpusFile[], data: Buffer[]): Promise<Result> {
  const blobs = await blobFlags(kind);
  const api = await serve(['--role', 'api', ...blobs.flags]);
  try {
    const s = { url: api.url, key: api.key } as Server;
    const t0 = performance.now();
    const lat = await pool(files.length, 16, async (i) => {
      await upload(s, basename(files[i]!.path), data[i]!);
    });
    const seconds = (performance.now() - t0) / 1000;
    return { files: files.length, bytes: data.reduce((n, d) => n + d.length, 0), seconds, p99: pct(lat, 99) };
  } finally {
    await api.stop();
    await blobs.close();
  }
}

/** The S3 server's own pace: the same bytes PUT straight from here with the AWS SDK, 16 in flight. */
async function rawPuts(data: Buffer[]): Promise<Result> {
  const s3 = await startS3Process();
  const client = new S3Client({
    endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED', requestHandler: { httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }) },
  });
  try {
    const t0 = performance.now();
    const lat = await pool(data.length, 16, async (i) => {
      await client.send(new PutObjectCommand({ Bucket: 'trawl', Key: `raw/${i}`, Body: data[i]! }));
    });
    return { files: data.length, bytes: data.reduce((n, d) => n + d.length, 0), seconds: (performance.now() - t0) / 1000, p99: pct(lat, 99) };
  } finally {
    client.destroy();
    await s3.stop();
  }
}

console.log(`date: ${new Date().toISOString()}  cores: ${availableParallelism()}`);
const rows: (string | number)[][] = [['corpus', 'what', 'seconds', 'files/s', 'MB/s', 'p99 ms', 'vs Trawl to a folder']];
let worst = Infinity;
for (const [label, files] of [[`${SMALL} small files`, smallCorpus(SMALL)], [`${LARGE_MB} MB of large files`, largeCorpus(LARGE_MB)]] as const) {
  const data = files.map((f) => readFileSync(f.path));
  const fs = await intake('folder', files, data);
  const s3 = await intake('s3', files, data);
  const raw = await rawPuts(data);
  const ratio = fs.seconds / s3.seconds;
  worst = Math.min(worst, ratio);
  for (const [store, r] of [['Trawl, folder', fs], ['Trawl, S3 (s3rver)', s3], ['AWS SDK PUTs alone, S3 (s3rver)', raw]] as const) {
    rows.push([label, store, r.seconds, r.files / r.seconds, r.bytes / MB / r.seconds, r.p99, `${(fs.seconds / r.seconds).toFixed(2)}x`]);
  }
}
table('intake: acknowledged uploads, 16 in flight, API process only', rows);
console.log(`\nS3 intake >= 0.7x folder intake: ${verdict(worst >= 0.7)} (worst ${worst.toFixed(2)}x)`);
