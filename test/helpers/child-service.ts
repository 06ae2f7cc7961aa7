// Runs the real `trawl serve` command as a child process, for tests that kill it or measure it.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../../bin/trawl.js', import.meta.url));

export interface ChildService {
  child: ChildProcess;
  url: string;
  /** The admin key printed on a first start; null on later starts. */
  key: string | null;
  stop(): Promise<void>;
}

/**
 * Starts `trawl serve` as `make start` does (node with --single-threaded-gc, a V8 option that
 * worker threads refuse when given it explicitly); with TRAWL_TEST_SERVER_LOG=FILE its info-level
 * log is appended to FILE (for debugging a test).
 */
export function serveChild(dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<ChildService> {
  return spawnServe(dataDir, extra, env).then((s) => {
    if (s.url === null) throw new Error('trawl serve started without an API');
    return { ...s, url: s.url };
  });
}

/** `trawl serve --role worker`: resolves once it has started (it has no API). */
export function serveWorkerChild(dataDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<Omit<ChildService, 'url' | 'key'>> {
  return spawnServe(dataDir, ['--role', 'worker', ...extra], env);
}

function spawnServe(dataDir: string, extra: string[], env: Record<string, string>): Promise<Omit<ChildService, 'url'> & { url: string | null }> {
  const logFile = process.env.TRAWL_TEST_SERVER_LOG;
  const child = spawn(process.execPath, ['--single-threaded-gc', bin, 'serve', '--data-dir', dataDir, '--port', '0', '--log-level', logFile ? 'info' : 'silent', ...extra], {
    stdio: ['ignore', logFile ? openSync(logFile, 'a') : 'ignore', 'pipe'],
    env: { PATH: process.env.PATH, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...env },
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  };
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (c) => {
      err += c;
      const url = /listening on (https?:\/\/\S+)/.exec(err)?.[1] ?? null;
      if (url || /Trawl worker started/.test(err)) resolve({ child, url, key: /^\s+([0-9a-f]{64})$/m.exec(err)?.[1] ?? null, stop });
    });
    child.on('exit', (code) => reject(new Error(`trawl serve exited with ${code}: ${err}`)));
  });
}
