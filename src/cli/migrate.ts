// `trawl migrate`: moves a deployment's data to another database and/or blob store, typically an
// embedded install (SQLite and a blob folder under --data-dir) to PostgreSQL and S3-compatible
// storage. The source is the configuration every command reads (--data-dir, --database,
// --blob-dir, --blob-url...); the target is given by --to-* flags. Every Trawl process of the
// source must be stopped: rows or blobs written meanwhile would be left behind.
import { randomBytes } from 'node:crypto';
import type { Writable } from 'node:stream';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { MARKER_SETTING } from '../deployment/blob-store-marker.js';
import { LIVE_SECONDS } from '../deployment/process-registry.js';
import { blobStoreOf } from '../main.js';
import { copyBlobs, type BlobCopyProgress } from '../store/blobs/blob-copy.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import { openCopyableStore } from '../store/open-store.js';
import type { CopyableStore } from '../store/store.js';
import { formatMB } from './progress.js';

export const migrateUsage = `trawl migrate [--to-database URL] [--to-blob-url s3://BUCKET[/PREFIX] [--to-s3-endpoint URL] [--to-s3-region R]
              [--to-s3-addressing-style auto|path|virtual] [--to-s3-access-key-id ID --to-s3-secret-access-key KEY] | --to-blob-dir DIR]
              [--batch-size ROWS] [--concurrency N]
                                                move the database and/or the blobs of the configured (stopped) deployment`;

export const migrateOptions = {
  'to-database': { type: 'string' },
  'to-blob-dir': { type: 'string' },
  'to-blob-url': { type: 'string' },
  'to-s3-endpoint': { type: 'string' },
  'to-s3-region': { type: 'string' },
  'to-s3-addressing-style': { type: 'string' },
  'to-s3-access-key-id': { type: 'string' },
  'to-s3-secret-access-key': { type: 'string' },
  'batch-size': { type: 'string', default: '1000' },
  concurrency: { type: 'string', default: '8' },
} as const;

/** The --to-* flags, by the setting each stands for. */
const TARGET_SETTINGS = {
  blobDir: 'to-blob-dir', blobUrl: 'to-blob-url', s3Endpoint: 'to-s3-endpoint', s3Region: 'to-s3-region',
  s3AddressingStyle: 'to-s3-addressing-style', s3AccessKeyId: 'to-s3-access-key-id', s3SecretAccessKey: 'to-s3-secret-access-key',
} as const;

export interface MigrateCommandOptions {
  config: Config;
  /** The command's flags as parsed (migrateOptions). */
  flags: Record<string, string | boolean | undefined>;
  out: Writable;
  err: Writable;
}

/** The migration cannot go ahead as things are: the message says why and what to do. */
class Refused extends Error {}

/** At most one progress line per second and table (or for the blobs), and always the last. */
const PROGRESS_MS = 1000;

const num = (n: number) => n.toLocaleString('en-US');
const rate = (n: number, since: number) => num(Math.round(n / Math.max(0.001, (Date.now() - since) / 1000)));
/** A database URL fit to print: without its password. */
const shown = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

export async function migrateCommand(o: MigrateCommandOptions): Promise<number> {
  const { config, flags, err } = o;
  const toDatabase = flags['to-database'] as string | undefined;
  const batchSize = Number(flags['batch-size']);
  const concurrency = Number(flags.concurrency);
  const movesBlobs = Boolean(flags['to-blob-dir'] || flags['to-blob-url']);
  if ((!toDatabase && !movesBlobs) || !Number.isSafeInteger(batchSize) || batchSize < 1 || !Number.isSafeInteger(concurrency) || concurrency < 1) {
    err.write(`usage:\n${migrateUsage}\n`);
    return 2;
  }
  if (toDatabase !== undefined && !/^(sqlite:.+|postgres(ql)?:\/\/.+)$/.test(toDatabase)) throw new ConfigError(`--to-database: expected postgres://... or sqlite:PATH, got ${shown(toDatabase)}`);
  if (toDatabase === config.databaseUrl) throw new ConfigError('--to-database is the database the configuration already uses');
  const blobConfig = movesBlobs ? targetBlobConfig(config, flags) : null;

  const id = `migrate-${randomBytes(4).toString('hex')}`;
  const source = await openCopyableStore(config.databaseUrl, { poolSize: 2 });
  let target: CopyableStore | null = null;
  const blobStores: BlobStore[] = [];
  try {
    // A process still running would write rows or blobs this copy has gone past.
    const live = await source.listProcesses(LIVE_SECONDS);
    if (live.length > 0) {
      throw new Refused(`${live.length} Trawl process${live.length === 1 ? ' is' : 'es are'} running on ${shown(config.databaseUrl)} (${live.map((p) => `${p.role} pid ${p.pid} on ${p.host}`).join(', ')}). ` +
        'Stop every process of the deployment (API and workers) first, and keep them stopped until the migration completes.');
    }
    err.write(`trawl migrate: from ${shown(config.databaseUrl)}; keep every Trawl process of it stopped until this completes\n`);
    if (toDatabase) {
      target = await openCopyableStore(toDatabase, { poolSize: 2 });
      await checkTarget(source, target);
    }
    const marker = await source.getSetting(MARKER_SETTING);
    let toBlobs: BlobStore | null = null;
    if (blobConfig) {
      const fromBlobs = blobStoreOf(config, id);
      // Blobs written through it are uploaded and dropped at once, not kept in a local cache.
      toBlobs = blobStoreOf(blobConfig, id, { cacheBytes: 0, cacheMinAgeMs: 0 });
      blobStores.push(fromBlobs, toBlobs);
      if (toBlobs.describe() === fromBlobs.describe() && blobConfig.s3Endpoint === config.s3Endpoint) {
        throw new ConfigError(`--to-blob-${blobConfig.blobUrl ? 'url' : 'dir'} is the blob store the configuration already uses`);
      }
      const theirs = await toBlobs.readMarker();
      if (theirs !== null && theirs !== marker) {
        throw new Refused(`the blob store ${toBlobs.describe()} belongs to another Trawl deployment (its trawl-marker is ${theirs}): move into an empty folder, bucket or prefix`);
      }
      // Blobs first: they take longest, and a failure there leaves the database untouched, so
      // that running the command again simply goes on (blobs copied already are skipped).
      err.write(`blobs: ${fromBlobs.describe()} -> ${toBlobs.describe()}\n`);
      const started = Date.now();
      let last = 0;
      const line = (p: BlobCopyProgress) =>
        `  blobs: ${num(p.copied + p.present + p.failed)} / ${num(p.total)} (copied ${num(p.copied)}, already there ${num(p.present)}, failed ${num(p.failed)}; ` +
        `${formatMB(p.bytes)} MB, ${formatMB(p.bytes / Math.max(0.001, (Date.now() - started) / 1000))} MB/s)\n`;
      const result = await copyBlobs(fromBlobs, toBlobs, {
        concurrency,
        onProgress: (p) => {
          if (Date.now() - last < PROGRESS_MS) return;
          last = Date.now();
          err.write(line(p));
        },
      });
      err.write(line(result));
      if (result.failed > 0) {
        for (const f of result.failures) err.write(`  blob ${f.sha256}: ${f.reason}\n`);
        err.write(`trawl migrate: ${num(result.failed)} blob${result.failed === 1 ? '' : 's'} could not be copied${result.failed > result.failures.length ? ` (the first ${result.failures.length} above)` : ''}; ` +
          `nothing else was changed. Fix the cause and run the same command again: blobs copied already are skipped.\n`);
        return 1;
      }
    }
    if (target) {
      err.write(`database: ${shown(config.databaseUrl)} -> ${shown(toDatabase!)}\n`);
      try {
        await copyRows(source, target, batchSize, err);
      } catch (e) {
        err.write(`trawl migrate: copying the database failed: ${(e as Error).message}\n` +
          `The target database now holds part of the data. Drop and recreate it (e.g. dropdb and createdb), then run the same command again${movesBlobs ? ' (blobs copied already are skipped)' : ''}.\n`);
        return 1;
      }
    }
    // Last: processes on the new setup find the deployment's token in both places, and start.
    if (toBlobs && marker) await toBlobs.writeMarker(marker);
    o.out.write(`Migrated. Start Trawl on the new setup (with your other settings as before) with:\n\n  trawl serve ${newSetupFlags(config, toDatabase, blobConfig).join(' ')}\n\n` +
      `Keep the old ${toDatabase && blobConfig ? 'database and blobs' : toDatabase ? 'database' : 'blobs'} until you have checked it; the service must not run on both.\n`);
    return 0;
  } catch (e) {
    if (e instanceof Refused) {
      err.write(`trawl migrate: refusing: ${e.message}\n`);
      return 1;
    }
    throw e;
  } finally {
    for (const b of blobStores) b.close();
    await target?.close();
    await source.close();
  }
}

/** The configuration of the target blob store: the --to-* flags alone, nothing of the source's. */
function targetBlobConfig(config: Config, flags: MigrateCommandOptions['flags']): Config {
  const settings: Record<string, string> = { dataDir: config.dataDir, blobCacheBytes: '0' };
  for (const [setting, flag] of Object.entries(TARGET_SETTINGS)) {
    const v = flags[flag];
    if (typeof v === 'string') settings[setting] = v;
  }
  try {
    // Not the environment either: TRAWL_* variables describe the source.
    return loadConfig({ env: {}, flags: settings });
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`target: ${e.message.replace(/--(blob|s3)-/g, '--to-$1-')}`);
    throw e;
  }
}

/** Refuses a target database that is not the empty database of the same schema the copy needs. */
async function checkTarget(source: CopyableStore, target: CopyableStore): Promise<void> {
  const [ours, theirs] = await Promise.all([source.migrationsApplied(), target.migrationsApplied()]);
  if (ours.join() !== theirs.join()) {
    throw new Refused(`the target database's schema is at migration ${theirs.at(-1) ?? 'none'}, the source's at ${ours.at(-1) ?? 'none'}: ` +
      'a newer Trawl migrated the target. Migrate with the same Trawl version that will run on it, into a fresh database.');
  }
  const used = await target.tablesWithData();
  if (used.length > 0) {
    throw new Refused(`the target database already holds data (${used.join(', ')}): trawl migrate copies only into an empty database. ` +
      'If this is an earlier copy that did not complete, drop and recreate the database (e.g. dropdb and createdb, or DROP DATABASE and CREATE DATABASE) and run the same command again.');
  }
}

/** Copies every table with a progress line per table at most every second. */
async function copyRows(source: CopyableStore, target: CopyableStore, batchSize: number, err: Writable): Promise<void> {
  let table = '';
  let started = Date.now();
  let last = 0;
  await source.copyTablesTo(target, {
    batchSize,
    onTables: (tables) => err.write(`  ${num(tables.reduce((n, t) => n + t.rows, 0))} rows in ${tables.length} tables\n`),
    onRows: (t, copied, total) => {
      if (t !== table) [table, started] = [t, Date.now()];
      if (copied < total && Date.now() - last < PROGRESS_MS) return;
      last = Date.now();
      err.write(`  ${t}: ${num(copied)} / ${num(total)} rows (${rate(copied, started)} rows/s)\n`);
    },
  });
}

/** The flags that run the service on the new setup: where the data now is. */
function newSetupFlags(config: Config, toDatabase: string | undefined, blobs: Config | null): string[] {
  const q = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const out: string[] = [];
  if (toDatabase) out.push('--database', q(shown(toDatabase)));
  else if (config.database) out.push('--database', q(shown(config.database)));
  else out.push('--data-dir', q(config.dataDir));
  const where = blobs ?? config;
  if (where.blobUrl) {
    out.push('--blob-url', q(where.blobUrl));
    if (where.s3Endpoint) out.push('--s3-endpoint', q(where.s3Endpoint));
    if (where.s3Region) out.push('--s3-region', q(where.s3Region));
    if (where.s3AddressingStyle !== 'auto') out.push('--s3-addressing-style', where.s3AddressingStyle);
    if (where.s3AccessKeyId) out.push('--s3-access-key-id', q(where.s3AccessKeyId), '--s3-secret-access-key', "'<secret>'");
  } else if (blobs || toDatabase) {
    // The blob folder was <data-dir>/blobs by default: named, since the data folder may change.
    out.push('--blob-dir', q(where.blobPath));
  }
  return out;
}
