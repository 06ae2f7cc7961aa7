// Benchmark helpers: a Trawl server as a child process on a fresh temp data dir, a lean
// keep-alive HTTP client, prebuilt multipart bodies, a closed-loop load runner and stats.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface Server {
  url: string;
  key: string;
  dir: string;
  proc: ChildProcess;
  /** Stops the server; the data dir is removed unless `keep`. */
  stop(keep?: boolean): Promise<void>;
  /** Everything the server logged (stdout) so far. */
  log(): string;
}

/**
 * Starts `trawl serve` on port 0; BENCH_PROF=DIR adds --cpu-prof into DIR; BENCH_WRAP="strace -f -o F"
 * runs the server under that command. `extra` and BENCH_SERVER_ARGS flags are appended. `reuse`
 * restarts on an existing data dir whose admin key is known (it is printed on a first start only).
 * Node runs with the options `make start` gives it; BENCH_NODE_ARGS replaces them ("" for none).
 */
export function startServer(extra: string[] = [], reuse?: { dir: string; key: string }): Promise<Server> {
  const dir = reuse?.dir ?? mkdtempSync(join(process.env.BENCH_TMP ?? tmpdir(), 'trawl-bench-'));
  const nodeArgs = [
    ...(process.env.BENCH_NODE_ARGS ?? '--single-threaded-gc').split(' ').filter(Boolean),
    ...(process.env.BENCH_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROF] : []),
  ];
  const wrap = (process.env.BENCH_WRAP ?? '').split(' ').filter(Boolean);
  const proc = spawn(wrap[0] ?? process.execPath, [...wrap.slice(1), ...(wrap.length ? [process.execPath] : []), ...nodeArgs, join(ROOT, 'bin/trawl.js'), 'serve', '--data-dir', dir, '--port', '0', '--log-level', 'warn',
    // Every benchmark client runs on this machine, some with 1,000 connections (live-feed followers).
    '--max-connections-per-client', '0', ...extra, ...(process.env.BENCH_SERVER_ARGS ?? '').split(' ').filter(Boolean)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Logs (stdout) are shown and kept, for benchmarks that read what the server reported.
  let logged = '';
  proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
    logged += d;
    process.stdout.write(d);
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    let key = reuse?.key ?? '';
    proc.on('exit', (code) => reject(new Error(`server exited (${code}) before it listened:\n${buf}`)));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => {
      buf += s;
      key ||= /^\s*([0-9a-f]{64})\s*$/m.exec(buf)?.[1] ?? '';
      const m = /Trawl is listening on (\S+)/.exec(buf);
      if (m && key) {
        proc.removeAllListeners('exit');
        proc.stderr!.removeAllListeners('data').on('data', (d: string) => process.stderr.write(d));
        resolve({ url: m[1]!, key, dir, proc, stop: (keep = false) => stopServer(proc, keep ? null : dir), log: () => logged });
      }
    });
  });
}

async function stopServer(proc: ChildProcess, dir: string | null): Promise<void> {
  if (proc.exitCode === null) {
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGINT');
    await exited;
  }
  if (dir && !process.env.BENCH_KEEP) rmSync(dir, { recursive: true, force: true });
}

/** utime + stime of a /proc stat file, in seconds (10 ms resolution). */
function statCpuSeconds(path: string): number {
  const stat = readFileSync(path, 'utf8');
  // Fields after the command name, which is in parentheses and may itself contain ") ".
  const fields = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Waits until the server has nothing left to do (its background work after a bulk upload: the
 * content index catching up, analyses): under 2% of a core over two seconds in a row, at most
 * `maxSeconds`. Returns the seconds waited.
 */
export async function quiet(s: Server, maxSeconds = 180): Promise<number> {
  const started = performance.now();
  let calm = 0;
  let cpu = cpuSeconds(s.proc.pid!);
  while (calm < 2 && performance.now() - started < maxSeconds * 1000) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuSeconds(s.proc.pid!);
    calm = now - cpu < 0.02 ? calm + 1 : 0;
    cpu = now;
  }
  return (performance.now() - started) / 1000;
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  return statCpuSeconds(`/proc/${pid}/stat`);
}

/** CPU seconds of every PostgreSQL process on this machine (a backend that ends meanwhile counts 0). */
export function postgresCpu(): number {
  const pids = spawnSync('pgrep', ['-x', 'postgres'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
  let sum = 0;
  for (const pid of pids) {
    try {
      sum += cpuSeconds(pid);
    } catch {
      // ended between pgrep and the read
    }
  }
  return sum;
}

/** CPU seconds (user + system) the calling thread has used so far (10 ms resolution). */
export function ownThreadCpuSeconds(): number {
  return statCpuSeconds('/proc/thread-self/stat');
}

/** CPU seconds (user, system) of each thread of a process, by thread id and name. */
export function threadCpu(pid: number): Map<string, { user: number; sys: number }> {
  const out = new Map<string, { user: number; sys: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
      out.set(`${tid} ${name}`, { user: Number(f[11]) / 100, sys: Number(f[12]) / 100 });
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}

/** Prints each thread's CPU since `before` (a threadCpu() snapshot), threads above 0.05 s. */
export function printThreadCpu(pid: number, before: Map<string, { user: number; sys: number }>): void {
  for (const [t, c] of threadCpu(pid)) {
    const b = before.get(t) ?? { user: 0, sys: 0 };
    if (c.user + c.sys - b.user - b.sys > 0.05) console.log(`  thread ${t}: user ${(c.user - b.user).toFixed(2)} s, sys ${(c.sys - b.sys).toFixed(2)} s`);
  }
}

export interface WrkResult { rps: number; p50: number; p99: number; errors: number; requests: number }

const WRK_LUA = `local paths = {}
for l in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = l end
wrk.headers["x-apikey"] = os.getenv("BENCH_KEY")
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %d %d %.3f %.3f %d\\n", summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
`;

export const hasWrk = () => spawnSync('sh', ['-c', 'command -v wrk']).status === 0 && !process.env.BENCH_NO_WRK;

/** Requests random paths (one per line of `pathsFile`) with wrk, one client process, 2 threads. */
export function wrk(s: Server, pathsFile: string, conns: number, seconds: number): WrkResult {
  const lua = pathsFile + '.lua';
  writeFileSync(lua, WRK_LUA);
  const threads = Math.min(2, conns);
  const r = spawnSync('wrk', ['-t', String(threads), '-c', String(conns), '-d', `${seconds}s`, '-s', lua, s.url], {
    env: { ...process.env, BENCH_PATHS: pathsFile, BENCH_KEY: s.key }, encoding: 'utf8',
  });
  const m = /RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stdout);
  if (!m) throw new Error(`wrk failed: ${r.stdout} ${r.stderr}`);
  const requests = Number(m[1]);
  return { rps: requests / (Number(m[2]) / 1e6), p50: Number(m[3]), p99: Number(m[4]), errors: Number(m[5]), requests };
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

export interface Res { status: number; body: Buffer }

/** One request; `body` is a list of buffers written in order (no copying). */
export function request(method: string, url: string, headers: Record<string, string | number>, body: Buffer[] = []): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    for (const b of body) req.write(b);
    req.end();
  });
}

export async function getJson(url: string, key: string): Promise<any> {
  const r = await request('GET', url, { 'x-apikey': key });
  if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body.toString()}`);
  return JSON.parse(r.body.toString());
}

const BOUNDARY = '----trawlbench' + randomBytes(8).toString('hex');

/** Multipart head and tail around a file's bytes, plus the matching headers. */
export function multipart(name: string, size: number, key: string): { head: Buffer; tail: Buffer; headers: Record<string, string | number> } {
  const head = Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${BOUNDARY}--\r\n`);
  return {
    head, tail,
    headers: { 'x-apikey': key, 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'content-length': head.length + size + tail.length },
  };
}

/** Uploads `data` (to POST /files, or to an upload URL when over 32 MB); returns the analysis id. */
export async function upload(s: Server, name: string, data: Buffer): Promise<string> {
  const target = data.length > 32 * 1024 * 1024 ? (await getJson(`${s.url}/api/v3/files/upload_url`, s.key)).data as string : `${s.url}/api/v3/files`;
  const m = multipart(name, data.length, s.key);
  const r = await request('POST', target, m.headers, [m.head, data, m.tail]);
  if (r.status !== 200) throw new Error(`upload ${name}: ${r.status} ${r.body.toString()}`);
  return JSON.parse(r.body.toString()).data.id as string;
}

/** Polls analyses until all are completed; resolves with the time it saw the last. */
export async function waitCompleted(s: Server, ids: string[], pollMs = 50): Promise<number> {
  // One request in flight, in upload order (analyses finish roughly in that order): the client
  // waits at the first analysis not completed and moves on once it is. Polling every pending id
  // side by side, as this once did, took a core away from the server it was timing.
  for (const id of ids) {
    for (;;) {
      const a = await getJson(`${s.url}/api/v3/analyses/${id}`, s.key);
      if (a.data.attributes.status === 'completed') break;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
  return performance.now();
}

/** Runs task(0..n-1) with `conc` in flight; returns each task's latency in ms. */
export async function pool(n: number, conc: number, task: (i: number) => Promise<void>): Promise<Float64Array> {
  const lat = new Float64Array(n);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      await task(i);
      lat[i] = performance.now() - t;
    }
  };
  await Promise.all(Array.from({ length: Math.min(conc, n) }, lane));
  return lat;
}

/** The largest value (spreading a long list into Math.max overflows the stack). */
export function maxOf(xs: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, xs[i]!);
  return m;
}

export function pct(lat: Float64Array, p: number): number {
  const s = Float64Array.from(lat).sort();
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

/** Prints rows as an aligned text table. */
export function table(title: string, rows: (string | number)[][]): void {
  const cells = rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const w = cells[0]!.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  console.log(`\n== ${title}`);
  for (const [j, r] of cells.entries()) {
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  '));
    if (j === 0) console.log(w.map((n) => '-'.repeat(n)).join('  '));
  }
}

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));

export const MB = 1024 * 1024;
export const verdict = (ok: boolean) => (ok ? 'MET' : 'MISSED');

/** Makes sure a command exists, installing its Debian package when root (benchmarks only). */
export function need(cmd: string, pkg: string): void {
  const has = () => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
  if (has()) return;
  if (process.getuid?.() === 0) spawnSync('sh', ['-c', `apt-get update -qq >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg} >/dev/null`], { stdio: 'inherit' });
  if (!has()) throw new Error(`${cmd} is needed (apt-get install ${pkg})`);
}
