// Opens the PostgreSQL store on a pg Pool. `pg` is imported only here, and lazily, so the
// embedded (SQLite) install never loads it.
import { createHash } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from '../sql/schema.js';
import { SqlStore } from '../sql/sql-store.js';
import { SHAPE_MARK } from '../sql/compiled-shapes.js';
import { migrate } from '../sql/migrations.js';
import { clientGone, takeMark } from '../sql/query-signal.js';
import { mapPostgresError, postgresDialect } from './postgres-dialect.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** Maximum pooled connections (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing with TransientError (default 10 s). */
  connectTimeoutMs?: number;
  /** Reads only, beside a store opened already: no migrations. */
  readOnly?: boolean;
  /** Prepare the queries of compiled shapes once per connection (default true; off for PgBouncer before 1.21 in transaction mode). */
  preparedStatements?: boolean;
  /** PostgreSQL cancels any statement running longer (statement_timeout); 0 or absent: no bound. Migrations are not bounded. */
  statementTimeoutMs?: number;
}

const INT8_OID = 20;

type Pool = import('pg').Pool;

/** PostgreSQL's refusal of a prepared statement whose result columns changed since it was prepared. */
const isStalePlan = (e: unknown) =>
  (e as { code?: unknown } | null)?.code === '0A000' && /cached plan must not change result type/.test(String((e as Error).message));

/**
 * The pool as Kysely sees it, with two changes to its clients' queries (and the request mark
 * of query-signal.ts taken off their text):
 * - `prepare`: the queries of compiled shapes (SHAPE_MARK) go as named statements: each
 *   connection parses and plans them once, and PostgreSQL then keeps a generic plan, where an
 *   unnamed query was planned on every run (about half of a page's database time). Their texts
 *   are a bounded set (compiled-shapes.ts), so are the statements kept per connection.
 * - a query marked with a request's signal (query-signal.ts) is cancelled on the server when
 *   that signal aborts, through `cancel(pid)`. The connection is then closed, not pooled
 *   again: a cancel arriving late would otherwise hit the next query it runs.
 */
function wrapPool(pool: Pool, opts: { prepare: boolean; cancel: (pid: number) => Promise<void> }): Pool {
  const names = new Map<string, string>();
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name) names.set(text, (name = `trawl_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`));
    return name;
  };
  // Clients whose query was cancelled: released with an error, so that the pool drops them.
  const cancelled = new WeakSet<object>();
  // The pool hands out the same few clients again and again: each is wrapped once.
  const wrapped = new WeakMap<object, object>();
  const wrap = (client: import('pg').PoolClient) => {
    const named = async (text: string, values: unknown[]) => {
      const name = nameOf(text);
      try {
        return await client.query({ name, text, values });
      } catch (e) {
        if (!isStalePlan(e)) throw e;
        // Another process's migration changed a column this statement returns: PostgreSQL
        // refuses the old statement from then on, so it is dropped here and prepared afresh.
        await client.query(`deallocate ${name}`);
        delete (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection.parsedStatements[name];
        return client.query({ name, text, values });
      }
    };
    const send = (text: unknown, values?: unknown[]) =>
      opts.prepare && typeof text === 'string' && text.startsWith(SHAPE_MARK)
        ? named(text, values ?? [])
        : (client.query as (...a: unknown[]) => Promise<unknown>).call(client, text, values);
    const query = async (marked: unknown, values?: unknown[]) => {
      const { text, signal } = typeof marked === 'string' ? takeMark(marked) : { text: marked, signal: undefined };
      if (!signal) return send(text, values);
      if (signal.aborted) throw clientGone();
      const onAbort = () => {
        cancelled.add(client);
        void opts.cancel((client as unknown as { processID: number }).processID);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      try {
        return await send(text, values);
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    };
    const release = (err?: Error | boolean) => client.release(err ?? (cancelled.has(client) || undefined));
    return new Proxy(client, { get: (target, prop, receiver) => (prop === 'query' ? query : prop === 'release' ? release : Reflect.get(target, prop, receiver)) });
  };
  const connect = async () => {
    const client = await pool.connect();
    let proxy = wrapped.get(client);
    if (!proxy) wrapped.set(client, (proxy = wrap(client)));
    return proxy;
  };
  return new Proxy(pool, { get: (target, prop, receiver) => (prop === 'connect' ? connect : Reflect.get(target, prop, receiver)) });
}

/** Connects to `url`, migrates the database and returns the store. Fails with a TrawlError. */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<SqlStore> {
  const pg = (await import('pg')).default;
  // BIGINT columns come back as JS numbers; set on this pool only, not pg's global parsers.
  const types = {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID && format !== 'binary'
        ? (v: string) => Number(v)
        : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
  };
  let pool;
  try {
    pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      types,
      ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
    });
  } catch (e) {
    throw mapPostgresError(e);
  }
  // An idle client losing its connection emits 'error' on the pool, which would crash the
  // process if unheard; the next query on the pool fails and is mapped instead.
  pool.on('error', () => undefined);
  // Likewise a checked-out client (Kysely holds one per query or transaction) emits 'error' when
  // its connection drops mid-query; the query itself is rejected and mapped to TransientError.
  pool.on('connect', (client) => client.on('error', () => undefined));
  // A cancel goes on a connection of its own: the pool's may all be busy with what is to be cancelled.
  const cancel = async (pid: number) => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('select pg_cancel_backend($1)', [pid]);
    } catch {
      // The statement then ends at its timeout, as it would have without the cancel.
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: wrapPool(pool, { prepare: opts.preparedStatements !== false, cancel }) }) });
  if (opts.readOnly || !opts.statementTimeoutMs) return SqlStore.open(db, postgresDialect, { migrate: !opts.readOnly });
  // A migration may rebuild an index over millions of rows: it runs on a connection of its own,
  // without the statement timeout meant for requests and jobs.
  const migrations = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000, types }) }) });
  try {
    await migrate(migrations, postgresDialect);
  } catch (e) {
    await db.destroy().catch(() => undefined);
    throw mapPostgresError(e);
  } finally {
    await migrations.destroy().catch(() => undefined);
  }
  return SqlStore.open(db, postgresDialect, { migrate: false });
}
