// What the Retrohunt benchmarks (retrohunt-brute.ts, probes/retrohunt-ab.ts) start from: the
// first rule files of BENCH_RULES_DIR that Debian's yara compiles (up to 300 rules), real large
// files of this machine, and a folder of links to them for `yara -r` (yara takes one target).
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largeCorpus, type CorpusFile } from '../corpora/corpus.js';
import { need } from './lib.js';
import { yaraRules } from './hunting-lib.js';

export interface RetrohuntSetup {
  /** The rule collection (BENCH_RULES_DIR). */
  dir: string;
  /** A scratch folder (the caller removes it). */
  work: string;
  rulesPath: string;
  rules: string;
  count: number;
  files: CorpusFile[];
  bytes: number;
  /** The folder of links to `files`. */
  farm: string;
}

export function retrohuntSetup(sizeMb: number, prefix: string): RetrohuntSetup {
  const dir = process.env.BENCH_RULES_DIR;
  if (!dir) throw new Error('set BENCH_RULES_DIR to a rule collection (e.g. signature-base/yara)');
  need('yara', 'yara');
  const work = mkdtempSync(join(tmpdir(), prefix));
  const rulesPath = join(work, 'rules.yar');
  const { rules, count } = yaraRules(dir, 300, rulesPath);
  const files = largeCorpus(sizeMb);
  const bytes = files.reduce((n, f) => n + f.size, 0);
  const farm = join(work, 'files');
  mkdirSync(farm);
  files.forEach((f, i) => symlinkSync(f.path, join(farm, String(i))));
  return { dir, work, rulesPath, rules, count, files, bytes, farm };
}
