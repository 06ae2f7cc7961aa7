// `trawl corpus add goodware PATH...`: an administrator fills the goodware corpus (files stored and
// analysed, never hunted; what `--preflight` and retrohunt jobs with corpus "goodware" scan)
// through the API, as `trawl submit` uploads: directory trees walked, N files at a time, with
// its progress, its summary and its --wait.
import { submitCommand, submitOptions, type SubmitOptions } from './submit.js';

export const corpusUsage = 'trawl corpus add goodware [--wait] [--concurrency N] PATH...   add files to the goodware corpus (administrators)';

export const corpusOptions = submitOptions;

/** The API route of the goodware intake (api/routes/goodware-corpus.ts). */
const GOODWARE_FILES = '/trawl/corpus/goodware/files';

export async function corpusCommand(args: string[], opts: Omit<SubmitOptions, 'target' | 'command'>): Promise<number> {
  const [action, corpus, ...paths] = args;
  if (action !== 'add' || corpus !== 'goodware') {
    const why = action !== 'add' ? (action ? `unknown action "${action}"` : 'missing action') : corpus ? `unknown corpus "${corpus}" (only "goodware" takes files)` : 'missing corpus';
    opts.err.write(`trawl corpus: ${why}\nusage: ${corpusUsage}\n`);
    return 2;
  }
  return submitCommand(paths, { ...opts, target: GOODWARE_FILES, command: { name: 'trawl corpus add goodware', usage: corpusUsage, done: 'added to the goodware corpus' } });
}
