// `trawl hunting ruleset add --preflight`: a ruleset's rules tried for false positives before it
// goes live. A retrohunt job runs them over the goodware corpus (its progress on stderr), its
// matches are shown, and the ruleset is created enabled only when there were none or the caller
// confirms: on a terminal by answering, elsewhere with --yes.
import { createInterface } from 'node:readline/promises';
import type { Writable } from 'node:stream';
import { ApiClient } from './api-client.js';

export interface PreflightOptions {
  /** Progress, matches and the question. */
  err: Writable;
  /** Enable whatever the goodware corpus says. */
  yes: boolean;
  /** Where the answer is read from; null (or not a terminal) when nobody can answer. */
  input: NodeJS.ReadableStream | null;
  /** How often the job is looked at (default 500 ms). */
  pollMs?: number;
}

const JOBS = '/intelligence/retrohunt_jobs';
/** Matches shown at most; the rest are counted (and listed by the job's matching_files). */
const SHOWN = 50;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isTty = (s: unknown) => (s as { isTTY?: boolean } | null)?.isTTY === true;

interface JobAttributes {
  status: string;
  progress: number;
  num_matches: number;
  scanned_bytes: number;
}
interface MatchingFile {
  id: string;
  attributes?: { names?: string[] };
  context_attributes?: { rule_name?: string };
}

/** Runs the preflight; true when the ruleset may be created enabled. API errors are thrown. */
export async function preflight(client: ApiClient, rules: string, o: PreflightOptions): Promise<boolean> {
  const { err } = o;
  const created = await client.post<{ data: { id: string } }>(JOBS, { data: { type: 'retrohunt_job', attributes: { rules, corpus: 'goodware' } } });
  const id = created.data.id;
  const path = `${JOBS}/${encodeURIComponent(id)}`;
  const tty = isTty(err);
  err.write(`preflight: retrohunt job ${id} over the goodware corpus\n`);
  let job: JobAttributes;
  for (;;) {
    job = (await client.get<{ data: { attributes: JobAttributes } }>(path)).data.attributes;
    if (job.status === 'finished' || job.status === 'aborted') break;
    if (tty) err.write(`\r\x1b[2Kpreflight: ${job.status} ${job.progress.toFixed(1)} %, ${job.num_matches} matches`);
    await sleep(o.pollMs ?? 500);
  }
  if (tty) err.write('\r\x1b[2K');
  if (job.status === 'aborted') {
    err.write(`preflight: job ${id} was aborted; the ruleset is not created\n`);
    return false;
  }
  if (job.scanned_bytes === 0) err.write('preflight: warning: the goodware corpus is empty (fill it with `trawl corpus add goodware DIR`)\n');
  if (job.num_matches === 0) {
    err.write('preflight: no match in the goodware corpus\n');
    return true;
  }
  err.write(`preflight: ${job.num_matches} matches in the goodware corpus:\n`);
  let shown = 0;
  for await (const f of client.iterate<MatchingFile>(`${path}/matching_files`, { limit: 40 })) {
    if (shown++ >= SHOWN) break;
    err.write(`  ${f.context_attributes?.rule_name ?? '?'}  ${f.id}  ${(f.attributes?.names ?? []).join(', ')}\n`);
  }
  if (job.num_matches > SHOWN) err.write(`  ... and ${job.num_matches - SHOWN} more (${path}/matching_files)\n`);
  if (o.yes) {
    err.write('preflight: enabling anyway (--yes)\n');
    return true;
  }
  if (!o.input || !isTty(o.input)) {
    err.write('preflight: refusing to enable a ruleset that matches goodware; the ruleset is not created (--yes to enable it anyway)\n');
    return false;
  }
  const rl = createInterface({ input: o.input, output: err });
  try {
    // The input ending unanswered is a no.
    const answer = await new Promise<string>((resolve) => {
      rl.once('close', () => resolve(''));
      rl.question('create and enable the ruleset anyway? [y/N] ').then(resolve, () => resolve(''));
    });
    const ok = /^y(es)?$/i.test(answer.trim());
    if (!ok) err.write('preflight: the ruleset is not created\n');
    return ok;
  } finally {
    rl.close();
  }
}
