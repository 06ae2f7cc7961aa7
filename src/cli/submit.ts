// `trawl submit`: uploads files and directory trees to a Trawl server, N at a time, and
// optionally waits until their analyses complete. Prints `<sha256>  <analysis id>  <path>` per file.
// `trawl corpus add goodware` (corpus.ts) is the same upload to another route.
import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Writable } from 'node:stream';
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config.js';
import { ApiClient, ApiError, ConnectionError } from './api-client.js';
import { Progress, formatMB } from './progress.js';

export const submitUsage = 'trawl submit [--wait] [--concurrency N] PATH...';

/** node:util parseArgs options; the dispatcher passes `concurrency` on as a number. */
export const submitOptions = {
  wait: { type: 'boolean', short: 'w', default: false },
  concurrency: { type: 'string', short: 'c', default: '4' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

export interface SubmitOptions {
  config: Pick<Config, 'url' | 'apikey'>;
  /** The API path every file is posted to (default: POST /files, or an upload URL when large). */
  target?: string;
  /** The command named in messages (`trawl submit`), and what its summary says was done (`submitted`). */
  command?: { name: string; usage: string; done: string };
  wait: boolean;
  concurrency: number;
  out: Writable;
  err: Writable;
  /** How often --wait polls each pending analysis. */
  pollIntervalMs?: number;
  /** --wait gives up when no analysis has completed for this long. */
  waitIdleTimeoutMs?: number;
}

interface Entry {
  path: string;
  size: number;
}

/** Errors after which every further request would fail the same way, so uploading stops. */
const fatalCodes = new Set<string>(['AuthenticationRequiredError', 'WrongCredentialsError', 'UserNotActiveError', 'QuotaExceededError', 'ForbiddenError']);
const isFatal = (e: unknown) => (e instanceof ConnectionError && e.unreachable) || (e instanceof ApiError && fatalCodes.has(e.code));
const describe = (e: unknown) => (e instanceof ApiError ? `${e.code}: ${e.message}` : (e as Error).message);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Regular files under `paths`, following symlinks but entering each directory once (no loops).
 * Synchronous: nothing else runs yet, and a stat from the cache costs less than a thread-pool hop.
 */
function collect(paths: string[], onError: (path: string, why: string) => void): Entry[] {
  const files: Entry[] = [];
  const seenDirs = new Set<string>();
  function visit(path: string, top: boolean): void {
    let st;
    try {
      st = statSync(path);
    } catch (e) {
      // Inside a tree, a dangling symlink or a file deleted meanwhile is not worth a failure.
      if (top) onError(path, (e as Error).message);
      return;
    }
    if (st.isFile()) {
      files.push({ path, size: st.size });
    } else if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (seenDirs.has(id)) return;
      seenDirs.add(id);
      let names: string[];
      try {
        names = readdirSync(path).sort();
      } catch (e) {
        onError(path, (e as Error).message);
        return;
      }
      for (const name of names) visit(join(path, name), false);
    } else if (top) {
      onError(path, 'not a regular file or directory');
    }
  }
  for (const p of paths) visit(p, true);
  return files;
}

/** Runs `fn` over `items` with at most `n` in flight, starting no new item once `stop()` is true. */
async function pool<T>(items: T[], n: number, fn: (item: T) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (!stop() && next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export async function submitCommand(paths: string[], opts: SubmitOptions): Promise<number> {
  const { config, out, err } = opts;
  const command = opts.command ?? { name: 'trawl submit', usage: submitUsage, done: 'submitted' };
  const usage = (why: string) => (err.write(`${command.name}: ${why}\nusage: ${command.usage}\n`), 2);
  if (paths.length === 0) return usage('no files or directories given');
  if (!config.apikey) return usage('no API key: pass --apikey or set TRAWL_APIKEY');
  if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) return usage('--concurrency must be a positive integer');

  let failed = 0;
  const files = collect(paths, (path, why) => {
    failed++;
    err.write(`${path}: ${why}\n`);
  });
  const client = new ApiClient(config.url, config.apikey);
  const progress = new Progress(err, files.length, files.reduce((sum, f) => sum + f.size, 0));
  const analyses: { id: string; path: string }[] = [];
  let fatal: unknown;
  let attempted = 0;
  let sentBytes = 0;
  progress.draw(true);

  await pool(
    files,
    opts.concurrency,
    async (f) => {
      attempted++;
      try {
        const r = await client.uploadFile(f.path, basename(f.path), (n) => progress.addBytes(n), f.size, opts.target);
        sentBytes += r.size;
        analyses.push({ id: r.analysisId, path: f.path });
        progress.fileDone(true);
        progress.print(out, `${r.sha256}  ${r.analysisId}  ${f.path}`);
      } catch (e) {
        failed++;
        progress.fileDone(false);
        if (isFatal(e)) fatal ??= e;
        else progress.print(err, `${f.path}: ${describe(e)}`);
      }
    },
    () => fatal !== undefined,
  );
  progress.clear();
  if (fatal) err.write(`error: ${describe(fatal)}\n`);
  const skipped = files.length - attempted;
  err.write(
    `${analyses.length} files, ${formatMB(sentBytes)} MB ${command.done} in ${progress.elapsed().toFixed(1)} s ` +
      `(${formatMB(progress.rate())} MB/s); ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
  );
  if (opts.wait && analyses.length > 0 && !fatal) {
    failed += await waitForAnalyses(client, analyses, opts);
  }
  return failed > 0 || fatal ? 1 : 0;
}

/**
 * Polls until every analysis is completed; returns how many could not be seen to complete, or
 * failed.
 *
 * The server analyses in arrival order, so a round polls the oldest pending analyses first and
 * ends once `concurrency` of them are still pending: the later ones are almost surely pending too,
 * and polling all of them every second would cost the server more than analysing them. After a
 * few rounds without progress a round polls every pending analysis, so one stuck analysis at the
 * head cannot hide the others.
 */
async function waitForAnalyses(client: ApiClient, analyses: { id: string; path: string }[], opts: SubmitOptions): Promise<number> {
  const { err } = opts;
  const interval = opts.pollIntervalMs ?? 1000;
  const idleTimeout = opts.waitIdleTimeoutMs ?? 10 * 60_000;
  const started = Date.now();
  const pending = new Map(analyses.map((a) => [a.id, a.path]));
  let failed = 0;
  let fatal: unknown;
  let lastProgress = Date.now();
  let stale = 0;
  err.write(`waiting for ${pending.size} analyses to complete\n`);
  while (pending.size > 0 && !fatal) {
    const before = pending.size;
    const sweep = stale >= 3;
    let stillPending = 0;
    await pool(
      [...pending.keys()],
      opts.concurrency,
      async (id) => {
        try {
          const res = await client.get<{ data?: { attributes?: { status?: string; trawl_status?: string; error?: { message?: string } } } }>(`/analyses/${encodeURIComponent(id)}`);
          const a = res.data?.attributes;
          if (a?.status !== 'completed') return void stillPending++;
          // Completed, as VirusTotal clients see it, but failed (docs/api.md, "Failed analyses").
          if (a.trawl_status === 'failed') {
            err.write(`${pending.get(id)}: analysis ${id} failed: ${a.error?.message ?? 'see the server log'}\n`);
            failed++;
          }
          pending.delete(id);
          lastProgress = Date.now();
        } catch (e) {
          // Like vt-cli, keep polling through transient errors; anything else settles this one.
          if (e instanceof ApiError && e.code === 'TransientError') return void stillPending++;
          if (isFatal(e)) fatal ??= e;
          else {
            err.write(`${pending.get(id)}: analysis ${id}: ${describe(e)}\n`);
            pending.delete(id);
            failed++;
          }
        }
      },
      () => fatal !== undefined || (!sweep && stillPending >= opts.concurrency),
    );
    stale = pending.size < before ? 0 : stale + 1;
    if (pending.size === 0 || fatal) break;
    if (Date.now() - lastProgress > idleTimeout) {
      err.write(`gave up waiting: no analysis completed for ${Math.round(idleTimeout / 1000)} s\n`);
      break;
    }
    await sleep(interval);
  }
  if (fatal) err.write(`error: ${describe(fatal)}\n`);
  const completed = analyses.length - pending.size - failed;
  err.write(`${completed} of ${analyses.length} analyses completed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  return failed + pending.size;
}
