// `trawl rules import DIR|URL`: loads or refreshes a collection of community rules (a folder of
// .yar/.yara files, or an http(s) URL of a .zip or .tar.gz of one) into the configured database,
// run on the server machine like `trawl user`. The import itself is hunting/rulesets/community-rules.ts.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type { Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { Config } from '../config.js';
import { importCollection, type CollectionFile } from '../hunting/rulesets/community-rules.js';
import { invalidArgument, TrawlError } from '../model/errors.js';
import { openStore } from '../store/open-store.js';

export const rulesUsage = `trawl rules import DIR|URL [--source NAME]   load or refresh community rules: a folder of .yar/.yara
                                            files, or an https URL of a .zip or .tar.gz of one`;

export const rulesOptions = {
  source: { type: 'string' },
} as const;

export interface RulesCommandOptions {
  config: Config;
  /** The collection's name (crowdsourced `source`); default: the URL, or the folder's absolute path. */
  source?: string;
  out: Writable;
  err: Writable;
}

/** Largest archive downloaded. */
const MAX_DOWNLOAD_BYTES = 256 * 1024 * 1024;

const run = promisify(execFile);

/** The .yar/.yara files under `dir` (symbolic links not followed), by path, in path order. */
async function yaraFiles(dir: string): Promise<CollectionFile[]> {
  const out: CollectionFile[] = [];
  const walk = async (d: string) => {
    for (const e of (await readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && /\.yara?$/i.test(e.name)) out.push({ path: relative(dir, p).split(sep).join('/'), source: await readFile(p, 'utf8') });
    }
  };
  await walk(dir);
  return out;
}

/** http is allowed only to this machine (tests, a local mirror): rules are code that runs on every file. */
function checkUrl(u: URL): void {
  const local = ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname);
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && local)) throw invalidArgument(`rules must be fetched over https: ${u.href}`);
}

/** Downloads the archive at `url` and unpacks it into a new folder, returned. */
async function fetchCollection(url: URL, err: Writable): Promise<string> {
  checkUrl(url);
  err.write(`downloading ${url.href}\n`);
  const res = await fetch(url, { redirect: 'follow' }).catch((e: Error) => {
    throw invalidArgument(`could not download ${url.href}: ${(e.cause as Error | undefined)?.message ?? e.message}`);
  });
  if (!res.ok) throw invalidArgument(`could not download ${url.href}: HTTP ${res.status}`);
  if (Number(res.headers.get('content-length') ?? 0) > MAX_DOWNLOAD_BYTES) throw invalidArgument(`${url.href} is larger than ${MAX_DOWNLOAD_BYTES} bytes`);
  const body = Buffer.from(await res.arrayBuffer());
  if (body.length > MAX_DOWNLOAD_BYTES) throw invalidArgument(`${url.href} is larger than ${MAX_DOWNLOAD_BYTES} bytes`);
  const dir = await mkdtemp(join(tmpdir(), 'trawl-rules-'));
  const archive = join(dir, 'collection');
  const tree = join(dir, 'tree');
  await writeFile(archive, body);
  await mkdir(tree);
  try {
    // By content, not by name: GitHub's archive URLs end in neither. An archive with links is
    // refused before unpacking: a later entry could be written through one, outside the folder.
    if (body.subarray(0, 2).toString('latin1') === 'PK') {
      if (/^l/m.test((await run('unzip', ['-Z', '-l', archive], { maxBuffer: 64 * 1024 * 1024 })).stdout)) throw invalidArgument(`${url.href} holds symbolic links`);
      await run('unzip', ['-q', '-o', archive, '-d', tree]);
    } else if (body[0] === 0x1f && body[1] === 0x8b) {
      if (/^[lh]/m.test((await run('tar', ['-tvzf', archive], { maxBuffer: 64 * 1024 * 1024 })).stdout)) throw invalidArgument(`${url.href} holds links`);
      await run('tar', ['-xzf', archive, '-C', tree, '--no-same-owner', '--no-same-permissions']);
    } else {
      throw invalidArgument(`${url.href} is neither a .zip nor a .tar.gz`);
    }
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    if (e instanceof TrawlError) throw e;
    throw invalidArgument(`could not unpack ${url.href}: ${((e as { stderr?: string }).stderr || (e as Error).message).trim().split('\n')[0]}`);
  }
  err.write(`unpacked ${body.length} bytes\n`);
  return dir;
}

export async function rulesCommand(args: string[], o: RulesCommandOptions): Promise<number> {
  const [action, where] = args;
  if (action !== 'import' || !where) {
    o.err.write(`usage:\n${rulesUsage}\n`);
    return 2;
  }
  const isUrl = /^[a-z]+:\/\//i.test(where);
  let unpacked: string | null = null;
  try {
    let root: string;
    if (isUrl) {
      unpacked = await fetchCollection(new URL(where), o.err);
      root = join(unpacked, 'tree');
    } else {
      root = resolve(where);
      if (!(await stat(root).catch(() => null))?.isDirectory()) throw invalidArgument(`${where} is not a folder`);
    }
    const files = await yaraFiles(root);
    const source = o.source ?? (isUrl ? where : root);
    o.err.write(`${files.length} YARA files in ${source}\n`);
    const store = await openStore(o.config.databaseUrl, { poolSize: 2, preparedStatements: o.config.databasePreparedStatements });
    try {
      let done = 0;
      const s = await importCollection(store, source, files, (e) => {
        if (e.outcome !== 'disabled') done++;
        const at = e.outcome === 'disabled' ? '' : `[${done}/${files.length}] `;
        o.err.write(e.error ? `${at}${e.outcome} ${e.name}: ${e.error.split('\n')[0]}\n` : `${at}${e.outcome} ${e.name}\n`);
      });
      o.out.write(`added ${s.added}, updated ${s.updated}, unchanged ${s.unchanged}, enabled ${s.enabled}, disabled ${s.disabled}, failed ${s.failed}\n`);
      return 0;
    } finally {
      await store.close();
    }
  } finally {
    if (unpacked) await rm(unpacked, { recursive: true, force: true });
  }
}
