// Writes a ZIP of stored files with 7-Zip (the same 7z-wasm that unpacks archives), on an
// analysis thread: the `zip-write` task of delivery/zip-file-job.ts. Encrypted with ZipCrypto
// when a password is given: the one ZIP encryption that every unzip opens (Info-ZIP's unzip,
// Python's zipfile, Windows Explorer, macOS); AES ZIPs need 7-Zip or WinZip (docs/api.md).
import { errorLines, runSevenZip } from './seven-zip.js';

export interface ZipWriteTask {
  kind: 'zip-write';
  /** The ZIP to create (absent before). */
  out: string;
  /** Files to pack; each entry is named after the file's base name (the files' sha256). */
  files: string[];
  /** Null: no encryption. */
  password: string | null;
}

/** Null when written; else why not, in 7-Zip's words (without paths). */
export type ZipWriteResult = { error: string } | null;

export async function writeZip(task: ZipWriteTask): Promise<ZipWriteResult> {
  // -mx=1: malware samples are mostly packed already; a fast deflate spares the shared threads.
  // -bd: no progress indicator; -y: never ask.
  const args = ['a', '-tzip', '-mx=1', '-bd', '-y'];
  if (task.password !== null) args.push(`-p${task.password}`, '-mem=ZipCrypto');
  const run = await runSevenZip([...args, task.out, ...task.files]);
  if (run.code === 0) return null;
  return { error: errorLines(run.lines).join('; ') || `7-Zip exited with code ${run.code}` };
}
