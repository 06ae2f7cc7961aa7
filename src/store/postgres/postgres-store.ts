// Opens the PostgreSQL store on a pg Pool. `pg` is imported only here, and lazily, so the
// embedded (SQLite) install never loads it.
import { Kysely, PostgresDialect } from 'kysely';
import type { Store } from '../store.js';
import type { Database } from '../sql/schema.js';
import { SqlStore } from '../sql/sql-store.js';
import { mapPostgresError, postgresDialect } from './postgres-dialect.js';

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /** Maximum pooled connections (default 10). */
  poolSize?: number;
  /** How long to wait for a connection before failing with TransientError (default 10 s). */
  connectTimeoutMs?: number;
  /** Reads only, beside a store opened already: no migrations. */
  readOnly?: boolean;
}

const INT8_OID = 20;

/** Connects to `url`, migrates the database and returns the store. Fails with a TrawlError. */
export async function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): Promise<Store> {
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
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return SqlStore.open(db, postgresDialect, { migrate: !opts.readOnly });
}
