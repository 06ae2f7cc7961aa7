// The limits on unpacking one submission, in one place: how deep, how many files, how many bytes,
// how much larger than its archive, and for how long. The budget lives on the main thread (it
// spans every level of the recursion); each extraction gets caps from it and reports back.

export interface ExtractionLimits {
  /** Containers at this depth are not unpacked (the submitted file is depth 0). */
  maxDepth: number;
  /** Subfiles per submission, every depth together. */
  maxFiles: number;
  /** Extracted bytes per submission, every depth together. */
  maxBytes: number;
  /** Bytes one container may unpack to per byte of its own size, past RATIO_FREE_BYTES. */
  maxRatio: number;
  /** Time for the whole unpacking of a submission. */
  timeoutMs: number;
  /** Passwords tried on encrypted archives after the one given at upload. */
  passwords: readonly string[];
}

/** Why a branch stopped early; reported in the parent's bundle_info.error. */
export type LimitHit = 'depth' | 'files' | 'bytes' | 'ratio' | 'time';

/** Small archives may always unpack this much, so that compressible data (logs, text) is not a bomb. */
export const RATIO_FREE_BYTES = 16 * 1024 * 1024;

/** What one extraction may produce: handed to the worker thread with the task. */
export interface ExtractionCaps {
  maxFiles: number;
  maxBytes: number;
  /** Which limit maxBytes comes from. */
  bytesLimit: 'bytes' | 'ratio';
  /** Epoch milliseconds. */
  deadline: number;
}

export function describeLimit(limit: LimitHit, limits: ExtractionLimits): string {
  switch (limit) {
    case 'depth':
      return `not unpacked: nested deeper than ${limits.maxDepth} levels`;
    case 'files':
      return `extraction stopped: more than ${limits.maxFiles} files in the submission`;
    case 'bytes':
      return `extraction stopped: more than ${limits.maxBytes} bytes extracted from the submission`;
    case 'ratio':
      return `extraction stopped: unpacks to more than ${limits.maxRatio} times its size (decompression bomb?)`;
    case 'time':
      return `extraction stopped: took longer than ${Math.round(limits.timeoutMs / 1000)} s`;
  }
}

/**
 * `caps` as an extraction that starts now runs under them: time it spent waiting for a thread
 * since `requestedAt` is not unpacking time, so the deadline moves by it. The budget then moves
 * its own deadline to the one the extraction ran under (ExtractionBudget.extendTo).
 */
export function capsAtStart(caps: ExtractionCaps, requestedAt: number | undefined, now = Date.now()): ExtractionCaps {
  return { ...caps, deadline: caps.deadline + Math.max(0, now - (requestedAt ?? now)) };
}

/** The running total of one submission's unpacking. */
export class ExtractionBudget {
  private files = 0;
  private bytes = 0;
  private deadline: number;

  constructor(readonly limits: ExtractionLimits, now = Date.now()) {
    this.deadline = now + limits.timeoutMs;
  }

  /** Whether a container at `depth` may be unpacked, or the limit that forbids it. */
  refusal(depth: number): LimitHit | null {
    if (depth >= this.limits.maxDepth) return 'depth';
    if (this.files >= this.limits.maxFiles) return 'files';
    if (this.bytes >= this.limits.maxBytes) return 'bytes';
    if (Date.now() >= this.deadline) return 'time';
    return null;
  }

  /** Moves the deadline to `deadline` if later: time an extraction spent waiting for a thread is not unpacking time. */
  extendTo(deadline: number): void {
    this.deadline = Math.max(this.deadline, deadline);
  }

  /** Caps for unpacking a container of `size` bytes now. */
  caps(size: number): ExtractionCaps {
    const left = this.limits.maxBytes - this.bytes;
    const ratio = RATIO_FREE_BYTES + size * this.limits.maxRatio;
    return {
      maxFiles: this.limits.maxFiles - this.files,
      maxBytes: Math.max(0, Math.min(left, ratio)),
      bytesLimit: ratio < left ? 'ratio' : 'bytes',
      deadline: this.deadline,
    };
  }

  /**
   * Counts extracted children against the budget, in order; returns how many fit. Extractions
   * running side by side each got the budget left when they started, so the total is trimmed
   * here.
   */
  take(sizes: readonly number[]): { accepted: number; limit: LimitHit | null } {
    let accepted = 0;
    for (const size of sizes) {
      if (this.files + 1 > this.limits.maxFiles) return { accepted, limit: 'files' };
      if (this.bytes + size > this.limits.maxBytes) return { accepted, limit: 'bytes' };
      this.files += 1;
      this.bytes += size;
      accepted += 1;
    }
    return { accepted, limit: null };
  }
}
