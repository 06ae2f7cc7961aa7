// Limits for extractors that write files themselves (not through 7-Zip): counts files and bytes
// against the caps and watches the deadline, the way seven-zip.ts does inside 7-Zip's writes.
import { Transform, type TransformCallback } from 'node:stream';
import type { ExtractionCaps, LimitHit } from './limits.js';

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
