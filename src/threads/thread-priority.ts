// CPU priority of one thread. On Linux the nice value belongs to each thread, not to the process,
// so an analysis thread can yield the cores to intake (the event loop, the digest and database
// threads) without a second process; the child processes it spawns (7-Zip) inherit it.
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/** The kernel's id of the calling thread, or null where /proc/thread-self does not exist. */
function threadTid(): number | null {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) ? tid : null;
  } catch {
    return null;
  }
}

/**
 * Gives the calling thread nice value `nice` (up to 19) if that lowers its priority; a thread
 * already as nice (the whole process started under `nice`) is left alone. Returns false where
 * nothing changed, e.g. where the platform has no per-thread priority.
 */
export function lowerThreadPriority(nice: number): boolean {
  const tid = threadTid();
  if (tid === null) return false;
  try {
    if (os.getPriority(tid) >= Math.min(19, nice)) return false;
    os.setPriority(tid, Math.min(19, nice));
    return true;
  } catch {
    return false;
  }
}

/** The calling thread's nice value (from /proc), or null where it cannot be read. */
export function threadNice(): number | null {
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[16]); // field 19 of proc(5); fields[0] is field 3
  } catch {
    return null;
  }
}
