// `trawl iocstream ...`: the IoC Stream through the API, mirroring vt-cli's `iocstream` commands,
// plus `follow`, the live feed, which resumes after a dropped connection without loss.
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { ApiClient, ApiError, ConnectionError } from './api-client.js';

export const iocstreamUsage = `trawl iocstream list [-f FILTER] [-n N] [-I]     list matched objects, newest first (-I: ids only)
trawl iocstream get ID                              show one IoC Stream notification
trawl iocstream delete ID...|-f FILTER|--all        delete notifications (by filter: in the background)
trawl iocstream follow [-f FILTER] [-n N]           new notifications as they come, one JSON line each`;

export const iocstreamOptions = {
  filter: { type: 'string', short: 'f' },
  limit: { type: 'string', short: 'n' },
  'identifiers-only': { type: 'boolean', short: 'I' },
  all: { type: 'boolean', short: 'a' },
} as const;

export interface IocStreamOptions {
  config: Pick<Config, 'url' | 'apikey'>;
  filter?: string;
  limit?: string;
  identifiersOnly?: boolean;
  all?: boolean;
  out: Writable;
  err: Writable;
  /** Stops `follow`. */
  signal?: AbortSignal;
}

const line = (o: Writable, v: unknown) => o.write(JSON.stringify(v) + '\n');

export async function iocstreamCommand(args: string[], o: IocStreamOptions): Promise<number> {
  const [action, ...ids] = args;
  const usage = (why: string) => (o.err.write(`trawl iocstream: ${why}\nusage:\n${iocstreamUsage}\n`), 2);
  if (!o.config.apikey) return usage('no API key: pass --apikey or set TRAWL_APIKEY');
  const max = o.limit === undefined ? Infinity : Number(o.limit);
  if (!(max >= 0)) return usage(`invalid --limit "${o.limit}"`);
  const client = new ApiClient(o.config.url, o.config.apikey);
  try {
    switch (action) {
      case 'list': {
        let n = 0;
        const query = { filter: o.filter, limit: 40, ...(o.identifiersOnly ? { descriptors_only: 'true' } : {}) };
        for await (const item of client.iterate<{ id: string }>('/ioc_stream', query)) {
          if (n++ >= max) break;
          if (o.identifiersOnly) o.out.write(`${item.id}\n`);
          else line(o.out, item);
        }
        return 0;
      }
      case 'get':
        if (ids.length !== 1) return usage('get needs exactly one ID');
        line(o.out, (await client.get<{ data: unknown }>(`/ioc_stream_notifications/${encodeURIComponent(ids[0]!)}`)).data);
        return 0;
      case 'delete':
        if (ids.length > 0) {
          if (o.filter || o.all) return usage('give IDs or a filter, not both');
          for (const id of ids) await client.delete(`/ioc_stream_notifications/${encodeURIComponent(id)}`);
          return 0;
        }
        if (!o.filter && !o.all) return usage('delete needs IDs, -f FILTER, or --all for every notification');
        await client.delete('/ioc_stream', o.filter ? { filter: o.filter } : {});
        o.err.write('Notifications being deleted. This can take a while...\n');
        return 0;
      case 'follow':
        return await follow(client, o, max);
      default:
        return usage(action ? `unknown action "${action}"` : 'missing action');
    }
  } catch (e) {
    o.err.write(e instanceof ApiError ? `${e.code}: ${e.message}\n` : `error: ${(e as Error).message}\n`);
    return 1;
  }
}

/** Prints new notifications; on a dropped connection waits (1 s, doubling to 30 s) and resumes from the last one. */
async function follow(client: ApiClient, o: IocStreamOptions, max: number): Promise<number> {
  let last: string | undefined;
  let n = 0;
  let delay = 1000;
  while (!o.signal?.aborted && n < max) {
    try {
      for await (const e of client.events('/ioc_stream', { filter: o.filter }, last, o.signal)) {
        last = e.id || last;
        delay = 1000;
        o.out.write(e.data + '\n');
        if (++n >= max) return 0;
      }
    } catch (e) {
      if (!(e instanceof ConnectionError)) throw e;
      o.err.write(`connection lost (${e.message}); resuming in ${delay / 1000} s\n`);
    }
    if (o.signal?.aborted) break;
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(30_000, delay * 2);
  }
  return 0;
}
