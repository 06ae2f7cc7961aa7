// Each process reports itself in the database every few seconds (role, versions, jobs held,
// event-loop lag) for `trawl status`, and sweeps the local working folders of processes that no
// longer report: what a killed process was receiving or unpacking is removed by the others.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { ProcessRecord } from '../model/records.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { ProcessStore } from '../store/store.js';
import { versions } from '../version.js';

/** How often a process reports itself. */
export const HEARTBEAT_MS = 5_000;
/** A process silent this long is dead for `trawl status`. */
export const LIVE_SECONDS = 30;
/**
 * Only a process silent this long loses its working folders: a process alive but cut off from the
 * database for a while must not find what it is unpacking gone.
 */
const SWEEP_AFTER_SECONDS = 600;
/** How often the folders of dead processes are looked for. */
const SWEEP_MS = 60_000;

const now = () => Math.floor(Date.now() / 1000);

/** An id for this process: which host, which pid, and which start of it (a folder name too). */
export function processId(): string {
  return `${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

export class ProcessRegistry {
  private readonly record: ProcessRecord;
  private readonly lag: IntervalHistogram;
  private beat: NodeJS.Timeout | undefined;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ProcessStore,
    private readonly blobs: BlobStore,
    id: string,
    role: ProcessRecord['role'],
    private readonly jobsHeld: () => number,
    private readonly log: Logger,
  ) {
    const v = versions();
    this.record = {
      id, role, host: hostname(), pid: process.pid, version: v.trawl, engineVersion: v.engine,
      startedAt: now(), heartbeatAt: now(), jobsHeld: 0, lagMs: 0, blobStore: blobs.describe(),
    };
    this.lag = monitorEventLoopDelay({ resolution: 20 });
  }

  /** Reports this process, sweeps what dead ones left, and keeps doing both. */
  async start(): Promise<void> {
    this.lag.enable();
    await this.heartbeat();
    await this.sweep();
    this.beat = setInterval(() => void this.heartbeat().catch((err) => this.log.warn({ err }, 'process heartbeat failed')), HEARTBEAT_MS);
    this.sweeper = setInterval(() => void this.sweep().catch((err) => this.log.warn({ err }, 'sweeping dead processes\' folders failed')), SWEEP_MS);
    this.beat.unref();
    this.sweeper.unref();
  }

  private async heartbeat(): Promise<void> {
    this.record.heartbeatAt = now();
    this.record.jobsHeld = this.jobsHeld();
    this.record.lagMs = this.lag.max / 1e6;
    this.lag.reset();
    await this.store.heartbeatProcess(this.record);
  }

  private async sweep(): Promise<void> {
    const live = await this.store.listProcesses(SWEEP_AFTER_SECONDS);
    await this.blobs.sweep(new Set(live.map((p) => p.id)));
  }

  async stop(): Promise<void> {
    clearInterval(this.beat);
    clearInterval(this.sweeper);
    this.lag.disable();
    await this.store.removeProcess(this.record.id);
  }
}
