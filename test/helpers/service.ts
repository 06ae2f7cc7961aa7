// Test helpers: a real Trawl service in a temporary folder, and small HTTP helpers around fetch.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Logger } from 'pino';
import { main } from '../../src/cli/main.js';
import { loadConfig, type Config } from '../../src/config.js';
import { startService, type Service } from '../../src/main.js';

export interface TestService extends Service {
  url: string;
  adminKey: string;
  dir: string;
  config: Config;
  stop(): Promise<void>;
}

/**
 * Starts a service on a free port with its own data folder (SQLite unless `flags.database`),
 * logging nothing unless given a logger (at its own level).
 */
export async function startTestService(flags: Record<string, string> = {}, log?: Logger): Promise<TestService> {
  const dir = await mkdtemp(join(tmpdir(), 'trawl-test-'));
  // Analyses wait for ruleset changes to compile however long it takes (production: 500 ms, then
  // the changes scan late): tests read notifications as soon as an analysis completes, on a
  // machine running other tests. test/hunting-catch-up.test.ts covers the late path.
  // Every Retrohunt job of the suite is held to brute force: it scans every file and fails if
  // the content index had ruled out one that matches (test/content-index-jobs.test.ts runs
  // jobs through the index alone).
  const config = loadConfig({ env: {}, flags: { dataDir: dir, port: '0', logLevel: 'silent', workers: '2', rulesCompileWaitMs: '600000', retrohuntVerifyIndex: 'true', ...flags } });
  const s = await startService(config, ...(log ? [log] : []));
  if (!s.url || !s.adminKey) throw new Error('service did not start with an API and a new admin');
  return {
    ...s,
    url: s.url,
    adminKey: s.adminKey,
    dir,
    config,
    async stop() {
      await s.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: any;
}

export async function api(base: string, key: string | null, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const h: Record<string, string> = { ...headers };
  if (key !== null) h['x-apikey'] = key;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    h['content-type'] = 'application/json';
  }
  const res = await fetch(path.startsWith('http') ? path : base + path, { method, headers: h, body: payload });
  const text = await res.text();
  let parsed: unknown = text;
  if ((res.headers.get('content-type') ?? '').startsWith('application/json')) parsed = text ? JSON.parse(text) : undefined;
  return { status: res.status, headers: res.headers, body: parsed };
}

export function fileForm(content: Buffer | string, name = 'sample.bin', extra: Record<string, string> = {}): FormData {
  const f = new FormData();
  f.append('file', new Blob([typeof content === 'string' ? content : new Uint8Array(content)]), name);
  for (const [k, v] of Object.entries(extra)) f.append(k, v);
  return f;
}

/** Polls an analysis until it is completed (or fails the test after `ms`). */
export async function waitForAnalysis(base: string, key: string, id: string, ms = 20_000): Promise<any> {
  const until = Date.now() + ms;
  for (;;) {
    const r = await api(base, key, 'GET', `/api/v3/analyses/${id}`);
    if (r.status !== 200) throw new Error(`analysis ${id}: ${r.status} ${JSON.stringify(r.body)}`);
    if (r.body.data.attributes.status === 'completed') return r.body.data;
    if (Date.now() > until) throw new Error(`analysis ${id} still ${r.body.data.attributes.status}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Calls `fn` every `everyMs` until `ok` holds for what it returns; fails the test with the last value after `ms`. */
export async function pollUntil<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms: number, everyMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) assert.fail(`${what}: still ${JSON.stringify(v)} after ${ms} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Asserts a VirusTotal-style error response. */
export function isVtError(r: JsonResponse, status: number, code: string): boolean {
  return (
    r.status === status &&
    (r.headers.get('content-type') ?? '').startsWith('application/json') &&
    r.body?.error?.code === code &&
    typeof r.body.error.message === 'string' &&
    r.body.error.message.length > 0
  );
}

/** Creates a user through the admin API and returns its API key. */
export async function newUser(s: TestService, username: string): Promise<string> {
  const r = await api(s.url, s.adminKey, 'POST', '/api/v3/users', { data: { type: 'user', id: username } });
  if (r.status !== 200) throw new Error(`creating user ${username}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.data.attributes.apikey as string;
}

/** Runs the `trawl` CLI in-process and collects its exit code and output. */
export async function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let o = '';
  let e = '';
  out.on('data', (c) => (o += c));
  err.on('data', (c) => (e += c));
  const code = await main(args, out, err);
  return { code, out: o, err: e };
}
