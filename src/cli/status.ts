// `trawl status`: the deployment's live processes (role, versions, jobs held, event-loop lag,
// blob store) and its job queue, read from the configured database like `trawl user` and
// `trawl jobs`. Run it on any machine that reaches the database.
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { LIVE_SECONDS } from '../deployment/process-registry.js';
import { openStore } from '../store/open-store.js';
import { table } from './table.js';

export const statusUsage = 'trawl status [--json]                  the live processes and the job queue';

export const statusOptions = { json: { type: 'boolean', default: false } } as const;

export async function statusCommand(o: { config: Config; json: boolean; out: Writable }): Promise<number> {
  const store = await openStore(o.config.databaseUrl, { poolSize: 2, preparedStatements: o.config.databasePreparedStatements });
  try {
    const [processes, queue] = await Promise.all([store.listProcesses(LIVE_SECONDS), store.jobQueueStats()]);
    const now = Date.now();
    if (o.json) {
      o.out.write(JSON.stringify({ processes, queue }, null, 2) + '\n');
      return 0;
    }
    const age = (s: number) => `${Math.max(0, Math.round(now / 1000 - s))}s`;
    o.out.write(processes.length === 0
      ? `no live process (none reported in the last ${LIVE_SECONDS} s)\n`
      : table([
        ['PROCESS', 'ROLE', 'HOST', 'PID', 'VERSION', 'ENGINE', 'UP', 'SEEN', 'JOBS', 'LAG', 'BLOBS'],
        ...processes.map((p) => [p.id, p.role, p.host, String(p.pid), p.version, p.engineVersion, age(p.startedAt), `${age(p.heartbeatAt)} ago`, String(p.jobsHeld), `${p.lagMs} ms`, p.blobStore]),
      ]));
    const versions = new Set(processes.map((p) => `${p.version} ${p.engineVersion}`));
    if (versions.size > 1) o.out.write(`warning: processes run different versions (${[...versions].join('; ')}): an engine upgrade changes what matches\n`);
    o.out.write('\n' + (queue.length === 0
      ? 'job queue: empty\n'
      : table([
        ['JOBS', 'QUEUED', 'RUNNING', 'FAILED', 'OLDEST WAITING'],
        ...queue.map((q) => [q.kind, String(q.queued), String(q.running), String(q.failed),
          q.oldestQueuedAt === null ? '-' : q.oldestQueuedAt > now ? 'delayed' : `${Math.round((now - q.oldestQueuedAt) / 1000)}s`]),
      ])));
    return 0;
  } finally {
    await store.close();
  }
}
