// Group commit: concurrent writes queued within one event-loop turn are committed in one
// transaction, so one fsync serves the whole batch instead of one per write.
import { TrawlError } from '../../model/errors.js';

interface Pending<I, O> {
  input: I;
  resolve(output: O): void;
  reject(error: unknown): void;
}

/**
 * Batches calls to `writeBatch`. Each caller's promise settles after the batch that holds its
 * input committed. When a batch fails with a TransientError (the database as a whole is locked,
 * unreachable, full or read-only) every caller in it is rejected with it; any other error (say,
 * one duplicate key) makes each input retry alone, so one bad write does not fail its neighbours.
 */
export class GroupCommitter<I, O> {
  private queue: Pending<I, O>[] = [];
  private scheduled = false;
  private running: Promise<void> | null = null;

  constructor(
    /** Writes all inputs in ONE transaction and returns one output per input, in order. */
    private readonly writeBatch: (inputs: I[]) => Promise<O[]>,
    private readonly maxBatch = 512,
  ) {}

  /** Queues `input` for the next batch. */
  submit(input: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  /** Resolves once everything queued so far has been written (or failed). */
  async drain(): Promise<void> {
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.schedule();
      await (this.running ?? new Promise((r) => setImmediate(r)));
    }
  }

  private schedule(): void {
    // While a batch is being written, newcomers wait for it to finish and form the next batch.
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running = this.flush().finally(() => {
        this.running = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue.splice(0, this.maxBatch);
    if (batch.length === 0) return;
    try {
      const outputs = await this.writeBatch(batch.map((p) => p.input));
      batch.forEach((p, i) => p.resolve(outputs[i] as O));
    } catch (error) {
      if (batch.length === 1 || isTransient(error)) {
        for (const p of batch) p.reject(error);
        return;
      }
      for (const p of batch) {
        try {
          const [output] = await this.writeBatch([p.input]);
          p.resolve(output as O);
        } catch (e) {
          p.reject(e);
        }
      }
    }
  }
}

function isTransient(error: unknown): boolean {
  return error instanceof TrawlError && error.code === 'TransientError';
}
