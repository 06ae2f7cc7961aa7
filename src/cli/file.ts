// `trawl file`: prints file objects (GET /api/v3/files/{hash}) as pretty JSON, one document per
// hash, concatenated the way jq prints a stream so the output pipes straight into jq.
import type { Writable } from 'node:stream';
import type { ParseArgsConfig } from 'node:util';
import type { Config } from '../config.js';
import { ApiClient, ApiError, ConnectionError } from './api-client.js';

export const fileUsage = 'trawl file HASH...   (SHA-256, SHA-1 or MD5)';

/** node:util parseArgs options: none beyond the global --url and --apikey. */
export const fileOptions = {} as const satisfies NonNullable<ParseArgsConfig['options']>;

export interface FileOptions {
  config: Pick<Config, 'url' | 'apikey'>;
  out: Writable;
  err: Writable;
}

export async function fileCommand(hashes: string[], opts: FileOptions): Promise<number> {
  const { config, out, err } = opts;
  const usage = (why: string) => (err.write(`trawl file: ${why}\nusage: ${fileUsage}\n`), 2);
  if (hashes.length === 0) return usage('no hashes given');
  if (!config.apikey) return usage('no API key: pass --apikey or set TRAWL_APIKEY');

  const client = new ApiClient(config.url, config.apikey);
  let failed = 0;
  for (const hash of hashes) {
    try {
      const res = await client.get<{ data?: unknown }>(`/files/${encodeURIComponent(hash)}`);
      out.write(JSON.stringify(res.data, null, 2) + '\n');
    } catch (e) {
      failed++;
      if (e instanceof ApiError) {
        err.write(`${hash}: ${e.code}: ${e.message}\n`);
      } else {
        err.write(`error: ${(e as Error).message}\n`);
        // Every other hash would fail the same way.
        if (e instanceof ConnectionError && e.unreachable) return 1;
      }
    }
  }
  return failed > 0 ? 1 : 0;
}
