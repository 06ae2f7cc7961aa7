// `trawl hunting ruleset|notification ...`: hunting rulesets and notifications through the API,
// mirroring vt-cli's `hunting` commands.
import { readFile } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { ApiClient, ApiError } from './api-client.js';
import { preflight } from './ruleset-preflight.js';

export const huntingUsage = `trawl hunting ruleset list [--filter F] [--limit N]   list your rulesets
trawl hunting ruleset add NAME FILE|-                  create a ruleset (disabled) from a YARA file
trawl hunting ruleset add --preflight [--yes] NAME FILE|-   tried on the goodware corpus first, then enabled
trawl hunting ruleset get ID...                        show rulesets
trawl hunting ruleset enable|disable ID...             switch matching on or off
trawl hunting ruleset update ID FILE|-                 replace a ruleset's rules
trawl hunting ruleset delete ID...                     delete rulesets
trawl hunting notification list [--filter F] [--limit N]   list notifications (newest first)
trawl hunting notification get ID...                   show notifications
trawl hunting notification delete ID...|--all|--with-tag T   delete notifications`;

export const huntingOptions = {
  filter: { type: 'string', short: 'f' },
  limit: { type: 'string', short: 'n' },
  all: { type: 'boolean', short: 'a' },
  'with-tag': { type: 'string', short: 't' },
  preflight: { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const;

export interface HuntingOptions {
  config: Pick<Config, 'url' | 'apikey'>;
  filter?: string;
  limit?: string;
  all?: boolean;
  withTag?: string;
  /** `add`: try the rules on the goodware corpus first (ruleset-preflight.ts), then create the ruleset enabled. */
  preflight?: boolean;
  /** With `preflight`: enable it whatever matched. */
  yes?: boolean;
  out: Writable;
  err: Writable;
  /** Where `-` reads rules from, and `--preflight` its answer (when a terminal). */
  stdin?: NodeJS.ReadableStream;
  /** How often `--preflight` looks at its job (default 500 ms). */
  pollMs?: number;
}

const PATH = '/intelligence/hunting_rulesets';
const NOTIFICATIONS = '/intelligence/hunting_notifications';

/** The rules in `file`, or on `stdin` for `-` (shared with `trawl retrohunt start`). */
export async function readRules(file: string, stdin: NodeJS.ReadableStream): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  let text = '';
  for await (const chunk of stdin) text += chunk;
  return text;
}

export async function huntingCommand(args: string[], o: HuntingOptions): Promise<number> {
  const [group, action, ...rest] = args;
  const usage = (why: string) => (o.err.write(`trawl hunting: ${why}\nusage:\n${huntingUsage}\n`), 2);
  if (group !== 'ruleset' && group !== 'notification') return usage(group ? `unknown group "${group}"` : 'missing group');
  if (!o.config.apikey) return usage('no API key: pass --apikey or set TRAWL_APIKEY');
  const client = new ApiClient(o.config.url, o.config.apikey);
  const print = (v: unknown) => o.out.write(JSON.stringify(v, null, 2) + '\n');
  const list = async (path: string, query: Record<string, string | number | undefined>) => {
    const max = o.limit ? Number(o.limit) : Infinity;
    if (!(max >= 0)) return usage(`invalid --limit "${o.limit}"`);
    let n = 0;
    for await (const item of client.iterate(path, { filter: o.filter, limit: 40, ...query })) {
      if (n++ >= max) break;
      print(item);
    }
    return 0;
  };
  if (group === 'notification') {
    try {
      return await notificationCommand(client, action, rest, o, print, list, usage);
    } catch (e) {
      o.err.write(e instanceof ApiError ? `${e.code}: ${e.message}\n` : `error: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const patch = (id: string, attributes: Record<string, unknown>) =>
    client.patch<{ data: unknown }>(`${PATH}/${encodeURIComponent(id)}`, { data: { type: 'hunting_ruleset', id, attributes } });
  try {
    switch (action) {
      case 'list':
        return await list(PATH, { relationships: 'owner,editors' });
      case 'add': {
        const [name, file] = rest;
        if (!name || !file) return usage('add needs NAME and FILE');
        const stdin = o.stdin ?? process.stdin;
        const rules = await readRules(file, stdin);
        if (o.preflight) {
          // Nobody can answer on a stdin the rules came from.
          const input = file === '-' ? null : stdin;
          if (!(await preflight(client, rules, { err: o.err, yes: o.yes === true, input, ...(o.pollMs ? { pollMs: o.pollMs } : {}) }))) return 1;
        }
        const attributes = { name, rules, ...(o.preflight ? { enabled: true } : {}) };
        print((await client.post<{ data: unknown }>(PATH, { data: { type: 'hunting_ruleset', attributes } })).data);
        return 0;
      }
      case 'update': {
        const [id, file] = rest;
        if (!id || !file) return usage('update needs ID and FILE');
        print((await patch(id, { rules: await readRules(file, o.stdin ?? process.stdin) })).data);
        return 0;
      }
      case 'get':
      case 'enable':
      case 'disable':
      case 'delete': {
        if (rest.length === 0) return usage(`${action} needs at least one ID`);
        for (const id of rest) {
          if (action === 'get') print((await client.get<{ data: unknown }>(`${PATH}/${encodeURIComponent(id)}`)).data);
          else if (action === 'delete') await client.delete(`${PATH}/${encodeURIComponent(id)}`);
          else await patch(id, { enabled: action === 'enable' });
        }
        return 0;
      }
      default:
        return usage(action ? `unknown action "${action}"` : 'missing action');
    }
  } catch (e) {
    o.err.write(e instanceof ApiError ? `${e.code}: ${e.message}\n` : `error: ${(e as Error).message}\n`);
    return 1;
  }
}

async function notificationCommand(
  client: ApiClient, action: string | undefined, ids: string[], o: HuntingOptions,
  print: (v: unknown) => void, list: (path: string, q: Record<string, string | undefined>) => Promise<number>, usage: (why: string) => number,
): Promise<number> {
  switch (action) {
    case 'list':
      return list(NOTIFICATIONS, { relationships: 'file' });
    case 'get':
      if (ids.length === 0) return usage('get needs at least one ID');
      for (const id of ids) print((await client.get<{ data: unknown }>(`${NOTIFICATIONS}/${encodeURIComponent(id)}`, { relationships: 'file' })).data);
      return 0;
    case 'delete':
      if (o.all || o.withTag) {
        if (ids.length > 0) return usage('give IDs or --all/--with-tag, not both');
        await client.delete(NOTIFICATIONS, o.withTag ? { tag: o.withTag } : {});
        return 0;
      }
      if (ids.length === 0) return usage('delete needs IDs, --all or --with-tag TAG');
      for (const id of ids) await client.delete(`${NOTIFICATIONS}/${encodeURIComponent(id)}`);
      return 0;
    default:
      return usage(action ? `unknown action "${action}"` : 'missing action');
  }
}
