// The mechanics of a Retrohunt job's scans (jobs/retrohunt-job.ts): which files go to a thread
// together, how many tasks are in flight, and which tasks are heavy by the job's own pace.
import type { FileRecord } from '../store/store.js';
import { HEAVY_BYTES } from '../extraction/submission-walk.js';

/**
 * Small files go to a thread several at a time, up to these many bytes or files a task: one round
 * trip between threads for them all (the members of static libraries are thousands of small
 * files). A task stays a few milliseconds of scanning, so uploads never wait long behind one.
 */
const GROUP_BYTES = 1024 * 1024;
const GROUP_FILES = 64;

/** The files of `files` from `from` that one task scans: a large file alone, or small ones together. */
export function nextGroup(files: FileRecord[], from: number): FileRecord[] {
  let end = from + 1;
  let bytes = files[from]!.size;
  while (end < files.length && end - from < GROUP_FILES && bytes + files[end]!.size <= GROUP_BYTES) bytes += files[end++]!.size;
  return files.slice(from, end);
}

/**
 * A batch read from the walk is recorded in parts of at most these many bytes: a batch of large
 * files (a thousand of 10 MB is half a minute of scanning) still shows its progress every second
 * or so, and a restart redoes that much at most.
 */
const RECORD_BYTES = 256 * 1024 * 1024;

/**
 * `files` (a batch of the walk ending at `last`) in parts to record one after the other: each
 * ends where RECORD_BYTES are reached, the last at `last` (the walk's cursor may lie beyond its
 * last file, when the batch was filtered).
 */
export function recordParts(files: FileRecord[], last: string): { files: FileRecord[]; last: string }[] {
  const parts: { files: FileRecord[]; last: string }[] = [];
  let from = 0;
  let bytes = 0;
  for (let i = 0; i < files.length; i++) {
    bytes += files[i]!.size;
    if (bytes >= RECORD_BYTES && i < files.length - 1) {
      parts.push({ files: files.slice(from, i + 1), last: files[i]!.sha256 });
      from = i + 1;
      bytes = 0;
    }
  }
  parts.push({ files: files.slice(from), last });
  return parts;
}

/** A scan task expected to last longer than this is heavy; an upload waits at most about this long behind a Retrohunt scan. */
const HEAVY_SCAN_MS = 100;
/** Bytes scanned (in files of PACE_FILE_BYTES and more) before the job's own pace decides which tasks are heavy. */
const PACE_MIN_BYTES = 2 * 1024 * 1024;
const PACE_FILE_BYTES = 64 * 1024;

/**
 * The scans a job has in flight: at most `size`, launched in the walk's order. A job waits here
 * for a free place, and stops launching once `stopped` says so.
 */
export class ScanWindow {
  private running = 0;
  private waiting: (() => void) | null = null;

  constructor(private readonly size: number) {}

  /** Resolves true once a place is free, or false when the job stopped meanwhile. */
  async enter(stopped: () => boolean): Promise<boolean> {
    while (this.running >= this.size) await new Promise<void>((r) => (this.waiting = r));
    if (stopped()) return false;
    this.running++;
    return true;
  }

  leave(): void {
    this.running--;
    const w = this.waiting;
    this.waiting = null;
    w?.();
  }
}

/**
 * How fast this job's rules scan: a task is heavy (see RunOptions.heavy) when it should take
 * longer than HEAVY_SCAN_MS, not by its size alone. A job's rules are one set, often quick: a
 * 1 MB file, heavy for an upload's analysis, scans in a few milliseconds, and marking every such
 * file heavy left a thread idle while the content index's upkeep held the other. The pace is the
 * job's own once it scanned PACE_MIN_BYTES of files from PACE_FILE_BYTES (smaller ones tell a
 * scan's fixed cost more than the rules' pace); before that, half the set's pace over the speed
 * probe's files (real files scan at about half of it). A scan's time is its thread's wall time:
 * on a busy host more tasks count as heavy, not fewer.
 */
export class ScanPace {
  private bytes = 0;
  private ms = 0;

  /** @param probeMbPerS The set's pace over the speed probe's files; 0: unknown (files from HEAVY_BYTES are heavy until measured). */
  constructor(private readonly probeMbPerS: number) {}

  add(bytes: number, scans: readonly { ms: number }[]): void {
    if (scans.length === 0 || bytes < PACE_FILE_BYTES) return; // not scanned (too large), or small
    this.bytes += bytes;
    for (const s of scans) this.ms += s.ms;
  }

  heavy(bytes: number): boolean {
    if (this.bytes >= PACE_MIN_BYTES) return (bytes * this.ms) / this.bytes > HEAVY_SCAN_MS;
    if (this.probeMbPerS > 0) return bytes / ((this.probeMbPerS / 2) * 1024 * 1024) * 1000 > HEAVY_SCAN_MS;
    return bytes >= HEAVY_BYTES;
  }
}
