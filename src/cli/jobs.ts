// `trawl jobs ...`: the jobs given up on (failed analyses and late scans), listed and queued
// again, run on the server machine against the configured database directly, like `trawl user`.
// A running service picks requeued jobs up at its next poll.
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import type { FailedJob, Store } from '../store/store.js';
import { openStore } from '../store/open-store.js';

export const jobsUsage = `trawl jobs list [--failed]                      count pending and failed jobs; --failed lists the failed ones
trawl jobs retry --all | JOB_ID...              queue failed jobs again (their analyses go back to queued)`;

export const jobsOptions = {
  failed: { type: 'boolean', default: false },
  all: { type: 'boolean', default: false },
} as const;

export interface JobsCommandOptions {
  config: Config;
  failed: boolean;
  all: boolean;
  out: Writable;
  err: Writable;
}

const PAGE = 500;

export async function jobsCommand(args: string[], o: JobsCommandOptions): Promise<number> {
  const [action, ...ids] = args;
  const retryArgs = action === 'retry' && (o.all ? ids.length === 0 : ids.length > 0 && ids.every((id) => /^[1-9][0-9]{0,15}$/.test(id)));
  if (!(action === 'list' && ids.length === 0) && !retryArgs) {
    o.err.write(`usage:\n${jobsUsage}\n`);
    return 2;
  }
  const store = await openStore(o.config.databaseUrl, { poolSize: 2, preparedStatements: o.config.databasePreparedStatements });
  try {
    if (action === 'list') {
      if (!o.failed) {
        o.out.write(`pending\t${await store.pendingJobs()}\nfailed\t${await store.countFailedJobs()}\n`);
        return 0;
      }
      for (let after = 0; ; ) {
        const page = await store.listFailedJobs(after, PAGE);
        for (const j of page) o.out.write(`${await line(store, j)}\n`);
        if (page.length < PAGE) return 0;
        after = page[page.length - 1]!.id;
      }
    }
    const wanted = o.all ? undefined : ids.map(Number);
    const queued = await store.retryFailedJobs(wanted);
    o.err.write(`queued ${queued.length} failed job${queued.length === 1 ? '' : 's'} again\n`);
    const skipped = wanted?.filter((id) => !queued.includes(id)) ?? [];
    for (const id of skipped) o.err.write(`job ${id} is not a failed job\n`);
    return skipped.length > 0 ? 1 : 0;
  } finally {
    await store.close();
  }
}

/** One failed job: id, kind, attempts, when, what it was about, its last error (on one line). */
async function line(store: Store, j: FailedJob): Promise<string> {
  const submissionId = Number(j.payload.submissionId);
  const sub = Number.isSafeInteger(submissionId) ? await store.getSubmission(submissionId) : null;
  const subject = sub ? `analysis ${sub.analysisId} sha256 ${sub.sha256}` : JSON.stringify(j.payload).slice(0, 200);
  return [j.id, j.kind, j.attempts, new Date(j.failedAt).toISOString(), subject, j.lastError.replace(/\s+/g, ' ')].join('\t');
}
