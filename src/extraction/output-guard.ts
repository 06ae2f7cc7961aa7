// The caps of one extraction, counted as it writes: files and bytes against the caps, and the
// deadline. Every extractor uses it: seven-zip.ts from inside 7-Zip's writes, the others directly.
import { Transform, type TransformCallback } from 'node:stream';
import type { ExtractionCaps, LimitHit } from './limits.js';

/**
 * Inputs up to ONE_CALL_INPUT bytes are decompressed in one call when their output fits
 * ONE_CALL_OUTPUT (and the caps); larger ones are streamed. Streams cost ~5 ms a file, and most
 * nested entries are small.
 */
export const ONE_CALL_INPUT = 1024 * 1024;
export const ONE_CALL_OUTPUT = 16 * 1024 * 1024;

export class LimitExceeded extends Error {
  constructor(readonly limit: LimitHit) {
    super(`limit reached: ${limit}`);
  }
}

export class OutputBudget {
  private files = 0;
  private bytes = 0;
  constructor(private readonly caps: ExtractionCaps) {}

  /** Call before creating a file. */
  file(): void {
    if (++this.files > this.caps.maxFiles) throw new LimitExceeded('files');
  }

  /** Call before writing `n` bytes. */
  add(n: number): void {
    this.bytes += n;
    if (this.bytes > this.caps.maxBytes) throw new LimitExceeded(this.caps.bytesLimit);
    if (Date.now() > this.caps.deadline) throw new LimitExceeded('time');
  }

  /** A pass-through stream that stops (with LimitExceeded) once the budget is spent. */
  meter(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc: BufferEncoding, done: TransformCallback) => {
        try {
          this.add(chunk.length);
          done(null, chunk);
        } catch (err) {
          done(err as Error);
        }
      },
    });
  }
}
