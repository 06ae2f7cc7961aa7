// Helpers of the scale-out benchmarks: `trawl serve` processes of one deployment (API and worker
// roles, each with a data folder of its own as on separate machines), PostgreSQL queries about its
// job queue, and the blob store flags (a shared folder, or S3 through s3rver on loopback).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3RVER_CREDENTIALS } from '../../test/helpers/s3-server.js';
import { ROOT } from './lib.js';

export interface Proc {
  proc: ChildProcess;
  dir: string;
  /** The API's URL (API processes). */
  url: string;
  /** The admin key (the deployment's first API process). */
  key: string;
  stop(): Promise<void>;
}

/** Starts `trawl serve` with `flags` on a fresh data folder; resolves once it serves. BENCH_PROF=DIR: CPU profiles there. */
export function serve(flags: string[]): Promise<Proc> {
  const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'trawl-deploy-'));
  const prof = process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : [];
  const proc = spawn(process.execPath, ['--single-threaded-gc', ...prof, join(ROOT, 'bin/trawl.js'), 'serve', '--data-dir', dir, '--port', '0', '--log-level', 'warn', '--max-connections-per-client', '0', ...flags], {
    stdio: ['ignore', 'inherit', 'pipe'],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGINT');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.on('exit', (code) => reject(new Error(`trawl serve exited (${code}):\n${buf}`)));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      const url = /Trawl is listening on (\S+)/.exec(buf)?.[1];
      if (url || buf.includes('Trawl worker started')) {
        proc.removeAllListeners('exit');
        proc.stderr!.removeAllListeners('data').on('data', (d: string) => process.stderr.write(d));
        resolve({ proc, dir, url: url ?? '', key: /^\s*([0-9a-f]{64})\s*$/m.exec(buf)?.[1] ?? '', stop });
      }
    });
  });
}

/** An S3 server (s3rver) on loopback in a process of its own; resolves with its endpoint. */
export function startS3Process(bucket = 'trawl'): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, [join(ROOT, 'dist/bench/lib/s3-server-process.js'), bucket], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.on('exit', (code) => reject(new Error(`s3rver exited (${code})`)));
    proc.stdout!.setEncoding('utf8').once('data', (d: string) => {
      proc.removeAllListeners('exit');
      resolve({ endpoint: d.trim(), stop: async () => {
        const exited = new Promise((r) => proc.once('exit', r));
        proc.kill('SIGTERM');
        await exited;
      } });
    });
  });
}

/** Where the deployment keeps blobs: `BENCH_BLOBS=s3` (s3rver on loopback, a process of its own) or a shared folder. */
export async function blobFlags(kind = process.env.BENCH_BLOBS ?? 'folder'): Promise<{ flags: string[]; close(): Promise<void>; endpoint: string | null }> {
  if (kind === 's3') {
    const s3 = await startS3Process();
    const { accessKeyId, secretAccessKey } = S3RVER_CREDENTIALS;
    return { flags: ['--blob-url', 's3://trawl/bench', '--s3-endpoint', s3.endpoint, '--s3-access-key-id', accessKeyId, '--s3-secret-access-key', secretAccessKey], endpoint: s3.endpoint, close: () => s3.stop() };
  }
  const dir = mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'trawl-shared-blobs-'));
  return { flags: ['--blob-dir', dir], endpoint: null, close: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** A client of the deployment's database, for what the API does not say (the job queue). */
export async function pgClient(url: string): Promise<{ query<T = any>(sql: string, args?: unknown[]): Promise<T[]>; end(): Promise<void> }> {
  const pg = (await import('pg')).default;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return { query: async (sql, args) => (await c.query(sql, args as unknown[])).rows, end: () => c.end() };
}

/** Waits until no `analyze` job is left (queued or running); resolves with the time it saw that. */
export async function drained(db: Awaited<ReturnType<typeof pgClient>>, pollMs = 100): Promise<number> {
  for (;;) {
    const [r] = await db.query<{ n: string }>("select count(*) as n from jobs where kind = 'analyze' and state <> 'failed'");
    if (Number(r!.n) === 0) return performance.now();
    await new Promise((res) => setTimeout(res, pollMs));
  }
}
