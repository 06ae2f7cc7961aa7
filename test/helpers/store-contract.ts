// The Store contract's harness, shared by the test/store-contract-*.test.ts files (one per area of
// the Store interface): the backends (SQLite temp files; a fresh PostgreSQL database per test on the
// server at TRAWL_TEST_PG_URL), and the records the tests make.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { TrawlError } from '../../src/model/errors.js';
import { storedStreamContext } from '../../src/model/stream-context.js';
import { LiveFeed } from '../../src/stream/live-feed.js';
import { openStore, type OpenStoreOptions } from '../../src/store/open-store.js';
import { postgresDialect } from '../../src/store/postgres/postgres-dialect.js';
import { sqliteDialect } from '../../src/store/sqlite/sqlite-dialect.js';
import { migrate } from '../../src/store/sql/migrations.js';
import type { Database } from '../../src/store/sql/schema.js';
import type { NewNotification, NewSubmission, NotificationQuery, Store } from '../../src/store/store.js';

export const OPEN_STORE_MODULE = new URL('../../src/store/open-store.js', import.meta.url).href;

/** Hands out empty databases of one kind and cleans them all up. */
export interface Backend {
  freshUrl(): Promise<string>;
  /** A Kysely of its own on a database of freshUrl's, for migrating it as an older version would. */
  kysely(url: string): Promise<Kysely<Database>>;
  cleanup(): Promise<void>;
}

export function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-store-'));
  let n = 0;
  return {
    freshUrl: async () => `sqlite:${join(dir, `sub/db-${++n}.db`)}`,
    kysely: async (url) => new Kysely<Database>({ dialect: new SqliteDialect({ database: new BetterSqlite3(url.slice('sqlite:'.length)) }) }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function postgresBackend(adminUrl: string): Backend {
  const created: string[] = [];
  const admin = async (text: string) => {
    const pg = (await import('pg')).default;
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      await client.query(text);
    } finally {
      await client.end();
    }
  };
  return {
    async freshUrl() {
      const name = `trawl_t_${process.pid}_${Date.now()}_${created.length}`;
      await admin(`create database ${name}`);
      created.push(name);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async kysely(url) {
      const pg = (await import('pg')).default;
      return new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) });
    },
    async cleanup() {
      for (const name of created) await admin(`drop database if exists ${name} with (force)`);
    },
  };
}

/** Real hashes of `content`, so lookups by each hash are meaningful. */
export function hashes(content: string) {
  const h = (alg: string) => createHash(alg).update(content).digest('hex');
  return { sha256: h('sha256'), sha1: h('sha1'), md5: h('md5'), size: content.length };
}

export function submission(content: string, over: Partial<NewSubmission> = {}): NewSubmission {
  return {
    analysisId: randomUUID(), ...hashes(content), userId: 1, date: 1_700_000_000, name: null,
    sourceKey: 'src-a', sourceCountry: 'DE', password: null, ...over,
  };
}

export const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof TrawlError, `expected a TrawlError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


export const ruleset = (ownerId: number, name: string, over: Record<string, unknown> = {}) => ({
  ownerId, name, rules: 'rule a { condition: true }', enabled: true, limit: 100, notificationEmails: [] as string[],
  matchObjectType: 'file', tags: [] as string[], ruleNames: ['a'], creationDate: 1_700_000_000, modificationDate: 1_700_000_000, ...over,
});
export const note = (r: { id: number; ownerId: number; name: string }, sub: { id: number; sha256: string }, rule: string, date: number, tags: string[] = []): NewNotification => ({
  ownerId: r.ownerId, rulesetId: r.id, rulesetName: r.name, date, sha256: sub.sha256, submissionId: sub.id, ruleName: rule,
  ruleTags: [], snippet: rule === 'nosnip' ? null : '41 42  AB', matchInSubfile: false, sourceKey: 'k', sourceCountry: 'DE',
  tags: [r.name, rule, sub.sha256, ...tags],
});
/** Stores `list` as the notifications of a freshly analysed submission of `content`. */
export const analysed = async (s: Store, content: string, list: (sub: { id: number; sha256: string }) => NewNotification[], opts = {}) => {
  const sub = await s.addSubmission(submission(content));
  const claimed = await s.claimJobs('w', 10, 60_000);
  const job = claimed.find((j) => j.payload.submissionId === sub.id)!;
  for (const other of claimed) if (other !== job) await s.retryJob(other.id, 'not this test\'s', 0);
  const analysis = { magic: 'data', typeDescription: 'unknown', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] };
  return { sub, stored: await s.completeAnalysis(job.id, sub.id, analysis, 1_700_000_500, list(sub), opts) };
};

/** What each contract test gets: the backend, and stores it opens (closed after each test). */
export interface ContractContext {
  kind: 'sqlite' | 'postgres';
  backend: Backend;
  /** The options every store of this run is opened with (the SQLite writer thread or not). */
  baseOpts: OpenStoreOptions;
  /** Stores opened through openAt/fresh, closed after each test; a test that closed them empties it. */
  open: Store[];
  openAt(url: string, opts?: OpenStoreOptions): Promise<Store>;
  fresh(opts?: OpenStoreOptions): Promise<Store>;
}

function contract(kind: 'sqlite' | 'postgres', makeBackend: () => Backend, baseOpts: OpenStoreOptions, body: (c: ContractContext) => void): void {
  const backend = makeBackend();
  const open: Store[] = [];
  const openAt = async (url: string, opts: OpenStoreOptions = {}) => {
    const s = await openStore(url, { poolSize: 8, ...baseOpts, ...opts });
    open.push(s);
    return s;
  };
  const fresh = async (opts: OpenStoreOptions = {}) => openAt(await backend.freshUrl(), opts);
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close();
  });
  after(() => backend.cleanup());
  body({ kind, backend, baseOpts, open, openAt, fresh });
}

/**
 * Runs `body`, one area's part of the Store contract, against every implementation: SQLite (with
 * and without the writer thread) and PostgreSQL (skipped without TRAWL_TEST_PG_URL).
 */
export function storeContract(area: string, body: (c: ContractContext) => void): void {
  describe(`SQLite store (writes on a worker thread): ${area}`, () => contract('sqlite', sqliteBackend, {}, body));
  describe(`SQLite store (one connection, caller thread): ${area}`, () => contract('sqlite', sqliteBackend, { writerThread: false }, body));
  const pgUrl = process.env.TRAWL_TEST_PG_URL;
  describe(`PostgreSQL store: ${area}`, { skip: pgUrl ? false : 'PostgreSQL not available: set TRAWL_TEST_PG_URL' }, () =>
    contract('postgres', () => postgresBackend(pgUrl ?? ''), {}, body));
}
