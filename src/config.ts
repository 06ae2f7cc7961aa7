// Configuration: the only reader of process.env, config files and command-line flags.
// Layers, lowest first: defaults < config file < TRAWL_* environment < flags. Validated once,
// frozen, then handed down in slices.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';

type Kind = 'string' | 'int' | 'bool' | 'enum' | 'list';

interface Field<T> {
  kind: Kind;
  default: T;
  doc: string;
  values?: readonly string[];
  min?: number;
  max?: number;
}

const MB = 1024 * 1024;

/** Every setting, with its default and meaning. test/config.test.ts checks docs/configuration.md lists each. */
export const fields = {
  host: { kind: 'string', default: '127.0.0.1', doc: 'Address the API listens on.' },
  port: { kind: 'int', default: 8080, min: 0, max: 65535, doc: 'TCP port the API listens on (0 picks a free one).' },
  tlsCert: {
    kind: 'string',
    default: '',
    doc: 'PEM certificate (with its chain) for HTTPS on the API\'s port; with tlsKey. Both files are read again on SIGHUP (a renewed certificate) without closing connections; a reload that fails keeps the previous pair and logs why. Empty: plain HTTP (e.g. behind a reverse proxy that terminates TLS, docs/deployment.md). The probe listener stays plain HTTP.',
  },
  tlsKey: { kind: 'string', default: '', doc: 'PEM private key of tlsCert (unencrypted; readable only by Trawl).' },
  dataDir: { kind: 'string', default: './data', doc: 'Folder for the embedded SQLite database and blobs.' },
  database: {
    kind: 'string',
    default: '',
    doc: 'Database URL: sqlite:PATH or postgres://... Empty means sqlite:<dataDir>/trawl.db.',
  },
  databasePoolSize: { kind: 'int', default: 10, min: 1, max: 1000, doc: 'PostgreSQL connections per process.' },
  databaseStatementTimeout: {
    kind: 'int',
    default: 60,
    min: 0,
    doc: 'Seconds after which a statement is cancelled, so that no request or job holds the database indefinitely: every statement on PostgreSQL (statement_timeout), the notification lists\' statements on SQLite (which block the thread they run on meanwhile: lower it for large SQLite databases). Migrations are not bounded. 0: no bound. A list\'s statements are also cancelled when its client disconnects (PostgreSQL).',
  },
  databasePreparedStatements: {
    kind: 'bool',
    default: true,
    doc: 'PostgreSQL: prepare the queries every page runs once per connection (named statements), so they are not planned again on every run. Off for PgBouncer before 1.21 in transaction pooling mode.',
  },
  streamPageThread: {
    kind: 'bool',
    default: true,
    doc: 'Read and serialize IoC Stream pages on a thread of their own (with its own database connection; PostgreSQL: up to 4 more), beside the thread that parses requests and sends replies. Off: on that thread.',
  },
  blobDir: { kind: 'string', default: '', doc: 'Folder for file contents (unless blobUrl is set). Empty means <dataDir>/blobs. In scale-out every process must reach the same folder (a shared mount).' },
  blobUrl: {
    kind: 'string',
    default: '',
    doc: 'Keep file contents in S3-compatible object storage instead of blobDir: s3://bucket[/prefix]. Every API and worker process of a deployment must use the same one. Credentials: s3AccessKeyId and s3SecretAccessKey, else the AWS SDK\'s usual sources (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws files, instance or pod roles).',
  },
  s3Endpoint: { kind: 'string', default: '', doc: 'Endpoint of an S3-compatible server (e.g. http://minio:9000); empty for AWS S3.' },
  s3Region: { kind: 'string', default: '', doc: 'Region of the bucket; empty: AWS_REGION (or AWS_DEFAULT_REGION), else us-east-1.' },
  s3AddressingStyle: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'path', 'virtual'],
    doc: 'path: https://endpoint/bucket/key (MinIO, Ceph); virtual: https://bucket.endpoint/key (AWS); auto: path when s3Endpoint is set, else virtual.',
  },
  s3AccessKeyId: { kind: 'string', default: '', doc: 'Access key for blobUrl; empty: the AWS SDK\'s usual sources.' },
  s3SecretAccessKey: { kind: 'string', default: '', doc: 'Secret key for blobUrl (prefer a config file readable only by Trawl, or AWS_SECRET_ACCESS_KEY).' },
  blobCacheBytes: {
    kind: 'int',
    default: 2048 * MB,
    min: 0,
    doc: 'With blobUrl: bytes of blobs each process keeps on local disk (under dataDir) for scanning and unpacking, least recently used out. Blobs in use are kept even over it.',
  },
  jobLease: {
    kind: 'int',
    default: 30,
    min: 2,
    max: 3600,
    doc: 'Seconds a job claimed by a process stays its own without renewal. Running jobs are renewed every third of it; the jobs of a process that died are taken over by others once it lapses.',
  },
  publicUrl: {
    kind: 'string',
    default: '',
    doc: 'Origin used in links and upload URLs (e.g. https://trawl.example.org). Empty: the request origin.',
  },
  role: {
    kind: 'enum',
    default: 'all',
    values: ['all', 'api', 'worker'],
    doc: 'What this process runs: the API, the analysis workers, or both.',
  },
  workers: { kind: 'int', default: 0, min: 0, max: 256, doc: 'Analysis worker threads; 0 means one per core.' },
  workerNice: {
    kind: 'int',
    default: 10,
    min: 0,
    max: 19,
    doc: 'Nice value of the analysis threads (Linux): when the cores are busy, receiving uploads and answering API calls come first and analysis catches up from its durable queue. 0: same priority as the rest.',
  },
  maxUploadBytes: { kind: 'int', default: 32 * MB, min: 1, doc: 'Largest file accepted by POST /api/v3/files.' },
  maxLargeUploadBytes: { kind: 'int', default: 650 * MB, min: 1, doc: 'Largest file accepted through an upload URL.' },
  uploadUrlTtl: { kind: 'int', default: 3600, min: 1, doc: 'Seconds an upload URL stays valid.' },
  maxRulesetBytes: { kind: 'int', default: 1024 * 1024, min: 1, doc: 'Largest hunting ruleset source accepted, in bytes.' },
  defaultNotificationLimit: {
    kind: 'int',
    default: 10000,
    min: 0,
    doc: 'Notifications per rolling 24 hours of a ruleset created without a `limit`.',
  },
  analysisTimeout: {
    kind: 'int',
    default: 120,
    min: 1,
    doc: 'Seconds one analysis may take (YARA scans aside) before its worker is restarted.',
  },
  jobMaxAttempts: {
    kind: 'int',
    default: 5,
    min: 1,
    max: 100,
    doc: 'Runs of a job (an analysis, a late scan, an e-mail) before it is given up on. An analysis given up on reads as failed, with the reason; it and late scans are kept as failed jobs for `trawl jobs retry`.',
  },
  jobRetryDelayMs: {
    kind: 'int',
    default: 1000,
    min: 0,
    doc: 'Milliseconds before a failed job runs again the first time; each next retry waits twice as long (with 5 attempts: 1, 2, 4 and 8 s).',
  },
  scanTimeout: { kind: 'int', default: 90, min: 1, doc: 'Seconds a YARA scan of one file with one rule set may take: a quarantined ruleset\'s late scan; in an analysis, scans are cut off at slowScan.' },
  retrohuntBatch: { kind: 'int', default: 1000, min: 1, doc: 'Files a Retrohunt job reads at a time, and scans between two records of its progress and matches (each one transaction; a restarted job resumes after the last); a batch is recorded every 256 MB as well.' },
  zipFileRetention: {
    kind: 'int',
    default: 24,
    min: 1,
    doc: 'Hours a ZIP file (POST /api/v3/intelligence/zip_files) is kept once built (or failed); then it is removed with its download, when the next ZIP file is built.',
  },
  maxScanBytes: { kind: 'int', default: 100 * MB, min: 1, doc: 'Files larger than this are stored and analysed but not scanned with YARA.' },
  contentIndex: { kind: 'bool', default: true, doc: 'Keep the content index (trigrams of every stored file and subfile, taken at analysis): Retrohunt jobs scan only the files their rules\' literals can be in, and `content:` searches answer from it. Off: every job scans every file, and content searches are refused.' },
  contentIndexGrace: { kind: 'int', default: 600, min: 0, doc: 'Seconds a content index segment merged into a larger one is kept before its blob is deleted (searches that listed it just before may still be reading it).' },
  retrohuntVerifyIndex: { kind: 'bool', default: false, doc: 'Check the content index against brute force: Retrohunt jobs scan every file and end aborted if one matches that the index had ruled out (the test suite runs with it on).' },
  contentIndexInterval: { kind: 'int', default: 5, min: 1, doc: 'Seconds between two upkeeps of the content index (files indexed since the last turned into a segment, segments merged).' },
  slowScan: {
    kind: 'int',
    default: 10,
    min: 1,
    doc: 'Seconds after which a scan counts as slow and an analysis\'s scan is cut off: the ruleset responsible is looked for, reported, and scanned late (after the analyses, in a lane of its own) from then on.',
  },
  rulesCompileWaitMs: {
    kind: 'int',
    default: 500,
    min: 0,
    doc: 'Milliseconds an analysis waits for ruleset changes committed before it to compile. Past it, the file is scanned with the rules compiled so far (without the changed rulesets\' matches), and the changed rulesets scan it late, once compiled: importing hundreds of rulesets, which compile for seconds, delays no upload.',
  },
  rulesetsPerShard: {
    kind: 'int',
    default: 1000,
    min: 1,
    doc: 'Hunting rulesets compiled together: more is faster to scan, fewer is faster to recompile after a change.',
  },
  shardRebuildDelay: {
    kind: 'int',
    default: 10,
    min: 0,
    doc: 'Seconds without ruleset changes before changed rulesets are folded back into their shards (at once when a shard\'s worth of them is waiting).',
  },
  maxExtractionDepth: {
    kind: 'int',
    default: 15,
    min: 0,
    max: 1000,
    doc: 'How deep archives inside archives are unpacked (0: never unpack).',
  },
  subfileHold: {
    kind: 'int',
    default: 5,
    min: 0,
    max: 3600,
    doc: 'Seconds a file unpacked from an archive may wait for a thread while uploads arrive in bulk (over 32 MB/s): acknowledging uploads comes first, and notifications for subfiles come at most this much later. 0: never wait.',
  },
  maxExtractedFiles: { kind: 'int', default: 10000, min: 0, doc: 'Most subfiles extracted from one submission, at every depth together.' },
  maxExtractedBytes: { kind: 'int', default: 400 * MB, min: 0, doc: 'Most bytes extracted from one submission, at every depth together.' },
  maxCompressionRatio: {
    kind: 'int',
    default: 250,
    min: 1,
    doc: 'Most bytes one archive may unpack to per byte of its own size (past the first 16 MB): stops decompression bombs early.',
  },
  extractionTimeout: { kind: 'int', default: 60, min: 1, doc: 'Seconds the unpacking of one submission may take, at every depth together.' },
  archivePasswords: {
    kind: 'list',
    default: ['infected', 'malware', 'virus', 'password', 'sample', '123456', 'admin', 'test', 'secret', 'infected!'],
    doc: 'Passwords tried on encrypted archives after the one given at upload (comma-separated in the environment and flags).',
  },
  smtpUrl: {
    kind: 'string',
    default: '',
    doc: 'SMTP server for notification e-mails, e.g. smtp://user:pass@mail.example.org:587. Empty: no e-mail.',
  },
  smtpFrom: { kind: 'string', default: 'trawl@localhost', doc: 'Sender address of notification e-mails.' },
  emailDelay: {
    kind: 'int',
    default: 5,
    min: 0,
    doc: 'Seconds notification e-mails wait, so that matches arriving together are sent as one digest.',
  },
  notificationRetention: {
    kind: 'int',
    default: 30,
    min: 0,
    doc: 'Days hunting notifications (and the IoC Stream) keep them; 0 keeps them forever.',
  },
  countryHeader: {
    kind: 'string',
    default: '',
    doc: 'Trusted request header carrying the client country (e.g. cf-ipcountry). Empty: not used.',
  },
  geoipDatabase: { kind: 'string', default: '', doc: 'MaxMind country database (.mmdb) for source_country. Empty: not used.' },
  trustProxy: { kind: 'bool', default: false, doc: 'Take the client address and scheme from X-Forwarded-* headers.' },
  headersTimeout: {
    kind: 'int',
    default: 20,
    min: 1,
    doc: 'Seconds a client has to send a request line and its headers; slower connections are closed.',
  },
  idleTimeout: {
    kind: 'int',
    default: 120,
    min: 0,
    doc: 'Seconds a connection may send and receive nothing (within a request or between requests) before it is closed; 0: never. Live feeds send a heartbeat every 15 s.',
  },
  quotaSyncMs: {
    kind: 'int',
    default: 1000,
    min: 10,
    max: 60_000,
    doc: 'How often each API process adds the API requests it counted to the database and reads back every process\'s totals for the per-minute and daily request quotas (docs/api.md, "Quotas"). Across N API processes a user may exceed a request quota by what the other processes admitted in one interval; a user\'s quotas themselves are re-read every 5 s.',
  },
  maxConnectionsPerClient: {
    kind: 'int',
    default: 256,
    min: 0,
    doc: 'Open connections one client address may hold; more are answered 429 and closed. 0: no cap. Not applied with trustProxy (every connection then comes from the proxy).',
  },
  probePort: {
    kind: 'int',
    default: 0,
    min: 0,
    max: 65535,
    doc: 'TCP port of a small HTTP listener serving only /api/v3/health, /api/v3/ready and /metrics, without API keys: how a worker process (--role worker, no API) is probed and scraped, or a way to keep /metrics off the API\'s port (with metrics probe-only). 0: no such listener (unlike port, 0 does not pick a free one).',
  },
  probeHost: { kind: 'string', default: '', doc: 'Address the probe listener (probePort) listens on. Empty: host\'s.' },
  metrics: {
    kind: 'enum',
    default: 'on',
    values: ['on', 'probe-only', 'off'],
    doc: 'Prometheus metrics at GET /metrics, without an API key (docs/operations.md): on the API\'s port and the probe port (on), on the probe port only (probe-only), or nowhere (off). Do not expose /metrics publicly: block it at the proxy, or use probe-only with probeHost on a private address.',
  },
  logLevel: {
    kind: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    doc: 'Log level.',
  },
  url: { kind: 'string', default: 'http://127.0.0.1:8080', doc: 'CLI: the Trawl server to talk to.' },
  apikey: { kind: 'string', default: '', doc: 'CLI: the API key to use.' },
} satisfies Record<string, Field<unknown>>;

type Fields = typeof fields;
type ValueOf<F> = F extends { kind: 'int' } ? number : F extends { kind: 'bool' } ? boolean : F extends { kind: 'list' } ? string[] : string;
export type Config = { readonly [K in keyof Fields]: ValueOf<Fields[K]> } & {
  /** Resolved database URL. */
  readonly databaseUrl: string;
  /** Resolved blob folder. */
  readonly blobPath: string;
  /** Resolved number of worker threads. */
  readonly workerCount: number;
};

export class ConfigError extends Error {}

export const envName = (key: string) => 'TRAWL_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
export const flagName = (key: string) => key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const keyOfFlag = new Map(Object.keys(fields).map((k) => [flagName(k), k]));
const keyOfEnv = new Map(Object.keys(fields).map((k) => [envName(k), k]));

function parseValue(key: string, raw: unknown, origin: string): unknown {
  const f = (fields as Record<string, Field<unknown>>)[key]!;
  const bad = (why: string) => new ConfigError(`${origin}: invalid value ${JSON.stringify(raw)} for "${key}": ${why}`);
  switch (f.kind) {
    case 'int': {
      const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw bad('expected an integer');
      if (f.min !== undefined && n < f.min) throw bad(`must be at least ${f.min}`);
      if (f.max !== undefined && n > f.max) throw bad(`must be at most ${f.max}`);
      return n;
    }
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === '1' || raw === 'yes') return true;
      if (raw === 'false' || raw === '0' || raw === 'no') return false;
      throw bad('expected true or false');
    case 'enum':
      if (typeof raw === 'string' && f.values!.includes(raw)) return raw;
      throw bad(`expected one of ${f.values!.join(', ')}`);
    case 'list':
      if (Array.isArray(raw) && raw.every((x) => typeof x === 'string')) return raw;
      if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
      throw bad('expected a list of strings');
    default:
      if (typeof raw !== 'string') throw bad('expected a string');
      return raw;
  }
}

export interface ConfigSources {
  /** Flags already split off the command line, as key (camelCase or kebab-case) -> raw value. */
  flags?: Record<string, string | boolean>;
  env?: NodeJS.ProcessEnv;
  /** Explicit config file; otherwise TRAWL_CONFIG, otherwise none. */
  configFile?: string;
}

/** Builds the frozen configuration. Throws ConfigError naming the offending key. */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const out: Record<string, unknown> = {};
  for (const [k, f] of Object.entries(fields)) out[k] = f.default;

  const file = sources.configFile ?? env.TRAWL_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`config file ${file}: ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`config file ${file}: expected a JSON object`);
    for (const [k, v] of Object.entries(parsed)) {
      if (!(k in fields)) throw new ConfigError(`config file ${file}: unknown key "${k}"`);
      out[k] = parseValue(k, v, `config file ${file}`);
    }
  }
  for (const [name, v] of Object.entries(env)) {
    if (!name.startsWith('TRAWL_') || v === undefined || name === 'TRAWL_CONFIG' || name.startsWith('TRAWL_TEST_')) continue;
    const k = keyOfEnv.get(name);
    if (!k) throw new ConfigError(`environment: unknown variable ${name}`);
    out[k] = parseValue(k, v, `environment ${name}`);
  }
  for (const [name, v] of Object.entries(sources.flags ?? {})) {
    const k = name in fields ? name : keyOfFlag.get(name);
    if (!k) throw new ConfigError(`unknown flag --${name}`);
    out[k] = parseValue(k, v, `flag --${flagName(k)}`);
  }

  const dataDir = resolve(out.dataDir as string);
  const database = (out.database as string) || `sqlite:${resolve(dataDir, 'trawl.db')}`;
  if (!/^(sqlite:|postgres(ql)?:\/\/)/.test(database)) {
    throw new ConfigError(`invalid value ${JSON.stringify(database)} for "database": expected sqlite:PATH or postgres://...`);
  }
  for (const key of ['publicUrl', 'url'] as const) {
    const v = out[key] as string;
    if (v && !/^https?:\/\/[^/]+/.test(v)) throw new ConfigError(`invalid value ${JSON.stringify(v)} for "${key}": expected http(s)://host[:port]`);
  }
  const smtp = out.smtpUrl as string;
  if (smtp && !/^smtps?:\/\/[^/]+/.test(smtp)) throw new ConfigError(`invalid value ${JSON.stringify(smtp)} for "smtpUrl": expected smtp://host:port or smtps://...`);
  const blobUrl = out.blobUrl as string;
  if (blobUrl && !/^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/.test(blobUrl)) {
    throw new ConfigError(`invalid value ${JSON.stringify(blobUrl)} for "blobUrl": expected s3://bucket[/prefix]`);
  }
  if (blobUrl && out.blobDir) throw new ConfigError('"blobUrl" and "blobDir" are both set: choose where file contents live');
  const endpoint = out.s3Endpoint as string;
  if (endpoint && !/^https?:\/\/[^/]+/.test(endpoint)) throw new ConfigError(`invalid value ${JSON.stringify(endpoint)} for "s3Endpoint": expected http(s)://host[:port]`);
  if (Boolean(out.s3AccessKeyId) !== Boolean(out.s3SecretAccessKey)) throw new ConfigError('"s3AccessKeyId" and "s3SecretAccessKey" go together: set both or neither');
  if (Boolean(out.tlsCert) !== Boolean(out.tlsKey)) throw new ConfigError('"tlsCert" and "tlsKey" go together: set both or neither');
  const workers = out.workers as number;
  return Object.freeze({
    ...out,
    dataDir,
    publicUrl: (out.publicUrl as string).replace(/\/+$/, ''),
    tlsCert: out.tlsCert ? resolve(out.tlsCert as string) : '',
    tlsKey: out.tlsKey ? resolve(out.tlsKey as string) : '',
    url: (out.url as string).replace(/\/+$/, ''),
    databaseUrl: database,
    blobPath: resolve((out.blobDir as string) || resolve(dataDir, 'blobs')),
    // The AWS variables every S3 tool reads (credentials are left to the SDK's own chain).
    s3Region: (out.s3Region as string) || env.AWS_REGION || env.AWS_DEFAULT_REGION || '',
    workerCount: workers > 0 ? workers : availableParallelism(),
  }) as unknown as Config;
}
