// A real S3-protocol server on loopback for tests: s3rver (npm), storing objects in a temporary
// folder. It speaks the REST protocol the AWS SDK does (signatures, multipart, ranges).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error s3rver ships no types
import S3rver from 's3rver';

export interface TestS3 {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Trawl flags that point a service at this server, under `prefix`. */
  flags(prefix: string): Record<string, string>;
  close(): Promise<void>;
}

/** s3rver's fixed credentials. */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export async function startS3(bucket = 'trawl'): Promise<TestS3> {
  const dir = await mkdtemp(join(tmpdir(), 'trawl-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
  const { port } = (await server.run()) as { port: number };
  const endpoint = `http://127.0.0.1:${port}`;
  const { accessKeyId, secretAccessKey } = S3RVER_CREDENTIALS;
  return {
    endpoint, bucket, accessKeyId, secretAccessKey,
    flags: (prefix) => ({ blobUrl: `s3://${bucket}/${prefix}`, s3Endpoint: endpoint, s3AccessKeyId: accessKeyId, s3SecretAccessKey: secretAccessKey }),
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
