// A one-line progress bar for long CLI transfers: files done/total, bytes, rate and ETA.
// Draws only on a TTY and at most ~10 times a second, so piped or logged stderr stays clean.
// Its pieces (bar, durations, sizes) serve the other progress displays (trawl retrohunt --wait).
import type { Writable } from 'node:stream';

const MB = 1024 * 1024;
const redrawMs = 100;

export const formatMB = (bytes: number) => (bytes / MB).toFixed(1);

/** `h:mm:ss` or `m:ss`; `--:--` when unknown (infinite). */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.round(seconds);
  const hms = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  const parts = hms[0] ? hms : hms.slice(1);
  return parts.map((n, i) => (i === 0 ? String(n) : String(n).padStart(2, '0'))).join(':');
}

/** `[#####-------]`: the fraction `frac` (0 to 1) of `width` cells filled. */
export function drawBar(frac: number, width = 24): string {
  const filled = Math.round(Math.min(1, Math.max(0, frac)) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export class Progress {
  private files = 0;
  private failed = 0;
  private bytes = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(
    private readonly stream: Writable,
    private readonly totalFiles: number,
    private readonly totalBytes: number,
  ) {
    this.tty = (stream as Writable & { isTTY?: boolean }).isTTY === true;
  }

  addBytes(n: number): void {
    this.bytes += n;
    this.draw();
  }

  fileDone(ok: boolean): void {
    this.files++;
    if (!ok) this.failed++;
    this.draw();
  }

  /** Seconds since the transfer started. */
  elapsed(): number {
    return (Date.now() - this.started) / 1000;
  }

  /** Bytes per second so far. */
  rate(): number {
    const t = this.elapsed();
    return t > 0 ? this.bytes / t : 0;
  }

  /** Erases the bar so another line can be written; the next update draws it again. */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }

  /** Prints `line` (to any stream) without tearing the bar, then redraws it. */
  print(out: Writable, line: string): void {
    this.clear();
    out.write(line.endsWith('\n') ? line : line + '\n');
    this.draw(true);
  }

  draw(force = false): void {
    if (!this.tty) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < redrawMs) return;
    this.lastDraw = now;
    const rate = this.rate();
    const eta = rate > 0 ? (this.totalBytes - this.bytes) / rate : Infinity;
    const frac = this.totalBytes > 0 ? Math.min(1, this.bytes / this.totalBytes) : this.files / Math.max(1, this.totalFiles);
    const failed = this.failed ? `, ${this.failed} failed` : '';
    this.stream.write(
      `\r\x1b[2K${drawBar(frac)} ${this.files}/${this.totalFiles} files${failed}  ` +
        `${formatMB(this.bytes)}/${formatMB(this.totalBytes)} MB  ${formatMB(rate)} MB/s  ETA ${formatDuration(eta)}`,
    );
    this.drawn = true;
  }
}
