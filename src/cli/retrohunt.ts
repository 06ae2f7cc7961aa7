// `trawl retrohunt ...`: Retrohunt jobs through the API (spec 5), mirroring vt-cli's `retrohunt`
// commands, plus `start --wait`, which follows a job to its end with a progress bar and prints
// what it matched.
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { ApiClient, ApiError, ConnectionError } from './api-client.js';
import { readRules } from './hunting.js';
import { drawBar, formatDuration } from './progress.js';
import { table } from './table.js';

export const retrohuntUsage = `trawl retrohunt start FILE|- [--time-range START..END] [--email ADDR] [--corpus main|goodware] [--wait]
                                                 run rules over the stored files; prints the job id (--wait: follows
                                                 it, then prints its matches; exits 1 if it was aborted)
trawl retrohunt list [-f status:S] [-n N] [--json]   list your jobs, newest first
trawl retrohunt get ID... [--json]              show jobs
trawl retrohunt abort ID...                     stop running jobs
trawl retrohunt delete ID...                    delete jobs with their matches
trawl retrohunt matches ID [-n N] [--json]      the files a job matched: sha256, rule, in a subfile, snippet`;

export const retrohuntOptions = {
  'time-range': { type: 'string' },
  email: { type: 'string' },
  corpus: { type: 'string' },
  wait: { type: 'boolean', short: 'w' },
  filter: { type: 'string', short: 'f' },
  limit: { type: 'string', short: 'n' },
  json: { type: 'boolean' },
} as const;

export interface RetrohuntOptions {
  config: Pick<Config, 'url' | 'apikey'>;
  timeRange?: string;
  email?: string;
  corpus?: string;
  wait?: boolean;
  filter?: string;
  limit?: string;
  json?: boolean;
  out: Writable;
  err: Writable;
  /** Where `-` reads rules from. */
  stdin?: NodeJS.ReadableStream;
  /** How often --wait reads the job (default 500 ms). */
  pollIntervalMs?: number;
  /** Items asked per page (default: 40 objects, 100 descriptors); the pages are followed by cursor. */
  pageSize?: number;
}

/** The attributes of a retrohunt_job object the CLI reads (spec 5.1). */
interface JobAttributes {
  rules: string;
  status: string;
  progress: number;
  eta_seconds: number;
  scanned_bytes: number;
  num_matches: number;
  creation_date: number;
  start_date?: number;
  finish_date?: number;
  corpus: string;
  time_range?: { start: number; end: number };
  notification_email?: string;
  trawl_abort_reason?: string;
}
interface Job {
  id: string;
  attributes: JobAttributes;
}
interface Match {
  id: string;
  context_attributes?: { rule_name?: string; snippet?: string; match_in_subfile?: boolean };
}

class UsageError extends Error {}

const PATH = '/intelligence/retrohunt_jobs';
const jobPath = (id: string) => `${PATH}/${encodeURIComponent(id)}`;
const ENDED = ['finished', 'aborted'];
/** A server that cannot be reached for this long while --wait follows a job ends the wait. */
const UNREACHABLE_MS = 60_000;
/** Without a TTY, --wait writes a line when the status changes, else at most this often. */
const PLAIN_EVERY_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const iso = (unix: number | undefined) => (unix === undefined ? '-' : new Date(unix * 1000).toISOString().replace('.000Z', 'Z'));
/** `512 B`, `3.4 KB`, `12.0 MB`, `1.5 GB`. */
function formatBytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  for (; n >= 1024 && i < units.length - 1; i++) n /= 1024;
  return i === 0 ? `${n} B` : `${n.toFixed(1)} ${units[i]}`;
}
const isTTY = (w: Writable) => (w as Writable & { isTTY?: boolean }).isTTY === true;

/** A time as UNIX seconds: digits, or a UTC date (`YYYY-MM-DD`) or date-time (ISO 8601). */
function parseWhen(text: string, endOfDay: boolean): number {
  if (/^\d+$/.test(text)) return Number(text);
  const day = /^\d{4}-\d{2}-\d{2}$/.test(text);
  // A date-time without a zone is UTC, as dates are.
  const ms = Date.parse(day ? `${text}T00:00:00Z` : /[zZ]|[+-]\d{2}:?\d{2}$/.test(text) ? text : `${text}Z`);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(ms)) throw new UsageError(`invalid time "${text}": expected YYYY-MM-DD, an ISO 8601 date-time or UNIX seconds`);
  // An END date includes its whole day.
  return Math.floor(ms / 1000) + (day && endOfDay ? 86_399 : 0);
}

/** `START..END`, either side optional (the server's defaults: every file, up to the job's creation). */
export function parseTimeRange(text: string): { start?: number; end?: number } {
  const m = /^([^.]*)\.\.([^.]*)$/.exec(text.trim());
  if (!m || (!m[1] && !m[2])) throw new UsageError(`invalid --time-range "${text}": expected START..END (either may be left out)`);
  return { ...(m[1] ? { start: parseWhen(m[1], false) } : {}), ...(m[2] ? { end: parseWhen(m[2], true) } : {}) };
}

/** A job's state on one line: status, progress, bytes, matches, ETA while it runs. */
function stateLine(a: JobAttributes): string {
  const running = !ENDED.includes(a.status);
  return [
    a.status,
    `${a.progress.toFixed(1)} %`,
    `${formatBytes(a.scanned_bytes)} scanned`,
    `${a.num_matches} match${a.num_matches === 1 ? '' : 'es'}`,
    ...(running && a.status !== 'starting' ? [`ETA ${formatDuration(a.eta_seconds)}`] : []),
  ].join('  ');
}

/** The rule names of a job's rules, as vt-cli's `--human` list shows them. */
const ruleNames = (rules: string) => [...rules.matchAll(/^\s*(?:(?:private|global)\s+)*rule\s+(\w+)/gm)].map((m) => m[1]!);

/** A snippet for a reader: highlights in reverse video on a terminal, else without their markers. */
function showSnippet(snippet: string, tty: boolean): string {
  const shown = tty ? snippet.replace(/\*begin_highlight\*/g, '\x1b[7m').replace(/\*end_highlight\*/g, '\x1b[27m') : snippet.replace(/\*(begin|end)_highlight\*/g, '');
  return shown.split('\n').map((l) => `    ${l}`).join('\n');
}

const matchLine = (m: Match) => `${m.id}  ${m.context_attributes?.rule_name ?? '-'}${m.context_attributes?.match_in_subfile ? '  in subfile' : ''}`;

function describeJob(j: Job): string {
  const a = j.attributes;
  const rows: [string, string | undefined][] = [
    ['id', j.id], ['status', stateLine(a)], ['abort reason', a.trawl_abort_reason], ['corpus', a.corpus],
    ['time range', a.time_range && `${iso(a.time_range.start)} .. ${iso(a.time_range.end)}`],
    ['created', iso(a.creation_date)], ['started', a.start_date === undefined ? 'not yet' : iso(a.start_date)],
    ['finished', a.finish_date === undefined ? undefined : iso(a.finish_date)], ['e-mail', a.notification_email],
  ];
  const head = rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${`${k}:`.padEnd(14)}${v}`).join('\n');
  return `${head}\nrules:\n${a.rules.replace(/\s+$/, '').split('\n').map((l) => `    ${l}`).join('\n')}\n`;
}

/**
 * Follows job `id` until it ends, drawing its progress on `err` (a bar redrawn in place on a TTY,
 * else a line when the status changes and every PLAIN_EVERY_MS). Rides out a server restart.
 */
async function follow(client: ApiClient, id: string, o: RetrohuntOptions): Promise<Job> {
  const tty = isTTY(o.err);
  let lastStatus = '';
  let lastLine = 0;
  let unreachableSince: number | null = null;
  for (;;) {
    let job: Job;
    try {
      job = (await client.get<{ data: Job }>(jobPath(id))).data;
      unreachableSince = null;
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      if (unreachableSince === null) o.err.write(`${tty ? '\r\x1b[2K' : ''}${e.message}; trying again\n`);
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince > UNREACHABLE_MS) throw e;
      await sleep(1000);
      continue;
    }
    const a = job.attributes;
    const ended = ENDED.includes(a.status);
    if (tty) {
      o.err.write(`\r\x1b[2K${drawBar(a.progress / 100)} ${stateLine(a)}${ended ? '\n' : ''}`);
    } else if (ended || a.status !== lastStatus || Date.now() - lastLine >= PLAIN_EVERY_MS) {
      o.err.write(`${id}: ${stateLine(a)}\n`);
      lastLine = Date.now();
    }
    lastStatus = a.status;
    if (ended) return job;
    await sleep(o.pollIntervalMs ?? 500);
  }
}

export async function retrohuntCommand(args: string[], o: RetrohuntOptions): Promise<number> {
  const [action, ...rest] = args;
  const usage = (why: string) => (o.err.write(`trawl retrohunt: ${why}\nusage:\n${retrohuntUsage}\n`), 2);
  if (!o.config.apikey) return usage('no API key: pass --apikey or set TRAWL_APIKEY');
  const max = o.limit === undefined ? Infinity : Number(o.limit);
  if (!(max >= 0)) return usage(`invalid --limit "${o.limit}"`);
  const client = new ApiClient(o.config.url, o.config.apikey);
  const json = (v: unknown, pretty = false) => o.out.write(JSON.stringify(v, null, pretty ? 2 : undefined) + '\n');
  const needIds = (n?: 1) => {
    if (rest.length === 0 || (n === 1 && rest.length > 1)) throw new UsageError(`${action} needs ${n === 1 ? 'one job ID' : 'job IDs'}`);
  };
  try {
    switch (action) {
      case 'start':
        return await start(client, rest, o);
      case 'list': {
        const jobs: Job[] = [];
        for await (const j of client.iterate<Job>(PATH, { filter: o.filter, limit: Math.min(o.pageSize ?? 40, max) || 1 })) {
          if (jobs.length >= max) break;
          if (o.json) json(j);
          jobs.push(j);
        }
        if (!o.json && jobs.length > 0) {
          o.out.write(table([
            ['JOB ID', 'CREATED', 'STATUS', 'PROGRESS', 'SCANNED', 'MATCHES', 'RULES'],
            ...jobs.map(({ id, attributes: a }) => [id, iso(a.creation_date), a.status, `${a.progress.toFixed(1)} %`, formatBytes(a.scanned_bytes), String(a.num_matches), ruleNames(a.rules).slice(0, 5).join(', ')]),
          ]));
        }
        return 0;
      }
      case 'get':
        needIds();
        for (const id of rest) {
          const j = (await client.get<{ data: Job }>(jobPath(id))).data;
          if (o.json) json(j, true);
          else o.out.write(describeJob(j));
        }
        return 0;
      case 'abort':
        needIds();
        for (const id of rest) o.out.write(`${id}\t${(await client.post<{ data: Job }>(`${jobPath(id)}/abort`)).data.attributes.status}\n`);
        return 0;
      case 'delete':
        needIds();
        for (const id of rest) await client.delete(jobPath(id));
        return 0;
      case 'matches': {
        needIds(1);
        let n = 0;
        // Descriptors with their context, unless whole File objects are asked for.
        const path = `${jobPath(rest[0]!)}/${o.json ? '' : 'relationships/'}matching_files`;
        for await (const m of client.iterate<Match>(path, { limit: Math.min(o.pageSize ?? (o.json ? 40 : 100), max) || 1 })) {
          if (n++ >= max) break;
          if (o.json) json(m);
          else o.out.write(`${matchLine(m)}\n${m.context_attributes?.snippet ? `${showSnippet(m.context_attributes.snippet, isTTY(o.out))}\n` : ''}`);
        }
        return 0;
      }
      default:
        return usage(action ? `unknown action "${action}"` : 'missing action');
    }
  } catch (e) {
    if (e instanceof UsageError) return usage(e.message);
    o.err.write(e instanceof ApiError ? `${e.code}: ${e.message}\n` : `error: ${(e as Error).message}\n`);
    return 1;
  }
}

/** `start`: creates the job and prints its id; with --wait follows it and prints its matches. */
async function start(client: ApiClient, args: string[], o: RetrohuntOptions): Promise<number> {
  if (args.length !== 1) throw new UsageError('start needs one rules FILE (or - for standard input)');
  const corpus = o.corpus ?? 'main';
  if (corpus !== 'main' && corpus !== 'goodware') throw new UsageError(`invalid --corpus "${corpus}": expected main or goodware`);
  const timeRange = o.timeRange === undefined ? undefined : parseTimeRange(o.timeRange);
  const rules = await readRules(args[0]!, o.stdin ?? process.stdin);
  const attributes = { rules, corpus, ...(o.email ? { notification_email: o.email } : {}), ...(timeRange ? { time_range: timeRange } : {}) };
  const created = (await client.post<{ data: Job }>(PATH, { data: { type: 'retrohunt_job', attributes } })).data;
  if (!o.wait) {
    o.out.write(o.json ? JSON.stringify(created, null, 2) + '\n' : `${created.id}\n`);
    return 0;
  }
  o.err.write(`retrohunt job ${created.id} started\n`);
  const job = await follow(client, created.id, o);
  if (o.json) {
    o.out.write(JSON.stringify(job, null, 2) + '\n');
  } else {
    const why = job.attributes.status === 'aborted' && job.attributes.trawl_abort_reason ? ` (${job.attributes.trawl_abort_reason})` : '';
    o.out.write(`retrohunt job ${job.id} ${stateLine(job.attributes)}${why}\n`);
    for await (const m of client.iterate<Match>(`${jobPath(job.id)}/relationships/matching_files`, { limit: o.pageSize ?? 100 })) o.out.write(`${matchLine(m)}\n`);
  }
  return job.attributes.status === 'aborted' ? 1 : 0;
}
