// How hard uploads are arriving in this process: bytes received (written to blobs) over the last
// moment. While they arrive in bulk, work that can wait (files unpacked from archives) gives them
// the cores.

/** The window the rate is measured over. */
const WINDOW_MS = 250;

export class IntakeLoad {
  /** [time, bytes] of what was received within the window, oldest first. */
  private readonly recent: [number, number][] = [];
  private bytes = 0;

  constructor(
    /** Above this many bytes per second, intake counts as busy. */
    private readonly bulkBytesPerSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Counts bytes of an upload, as they are written. */
  add(bytes: number): void {
    const t = this.now();
    this.recent.push([t, bytes]);
    this.bytes += bytes;
    this.expire(t);
  }

  /** Bytes per second received over the last window. */
  rate(): number {
    this.expire(this.now());
    return (this.bytes * 1000) / WINDOW_MS;
  }

  /** Whether uploads are arriving in bulk right now. */
  get busy(): boolean {
    return this.rate() > this.bulkBytesPerSecond;
  }

  private expire(t: number): void {
    while (this.recent.length > 0 && this.recent[0]![0] <= t - WINDOW_MS) this.bytes -= this.recent.shift()![1];
  }
}
