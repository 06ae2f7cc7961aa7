// The `retrohunt` job: one retrohunt job's rules over the stored files (spec 5). Files first
// submitted within the job's time range are walked in sha256 order, a batch at a time: every
// file, or only those the content index cannot rule out when the rules' literals bound them
// (content-index/rule-grams.ts). Each batch's matches and progress (every 256 MB too; with the last sha256, the
// cursor) are one transaction, so a restarted job resumes after its last batch; batches are
// recorded in order while the next ones scan, so the threads never wait for a batch's end. The
// scans run on the analysis pool in a lane of their own, at the lowest priority, small files
// many to a task, their long tasks (by the job's own pace) marked heavy so that the pool keeps a
// thread for uploads while they come: uploads keep their latency. The rules are compiled once
// per run, with Livehunt's options and condition rewrite (shared-compile.ts), so a job matches
// what Livehunt would.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { RuleCompiler } from '../hunting/engine/rule-compiler.js';
import type { HuntTask } from '../hunting/engine/rules-artifact.js';
import { scanVariables } from '../hunting/scan/scan-variables.js';
import type { HuntFilesResult, HuntFilesTask } from '../extraction/walk-tasks.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { FileRecord, Job, RetrohuntJobRecord, RetrohuntMatch, Store } from '../store/store.js';
import type { WorkerPool } from '../threads/worker-pool.js';
import { RETROHUNT_LANE, abortReasons } from '../model/retrohunt.js';
import type { JobHandler } from './job-runner.js';
import { rawError } from './job-failure.js';
import { ContentIndexUnusableError, type ContentIndex } from '../content-index/content-index.js';
import { rulesQuery } from '../content-index/rule-grams.js';
import { nextGroup, recordParts, ScanPace, ScanWindow } from './retrohunt-scans.js';

export interface RetrohuntJobOptions {
  /** Scans of retrohunt jobs running at once (the pool's size: the pool's reserve keeps a thread for uploads). */
  maxRunning: number;
  /** Livehunt's per-scan timeout and size cap. */
  scanTimeoutMs: number;
  maxScanBytes: number;
  /** Files per batch read from the walk (recorded in parts: see recordParts). */
  batchSize: number;
  /** Scan tasks (a large file, or a few small ones) queued or running at once (default twice the threads, plus two): enough to keep every thread fed. */
  inFlight?: number;
  /** How often a running job looks for an abort or a delete (default 1 s). */
  watchMs?: number;
  /**
   * Check the content index against brute force: jobs scan every file, and fail (the job ends
   * aborted) if one matches that the index had ruled out. For tests and for doubt.
   */
  verifyIndex?: boolean;
}

/** Below every analysis task's (their priority is their depth): retrohunt scans take the threads left over. */
const PRIORITY = 1000;

const now = () => Math.floor(Date.now() / 1000);

/** The facts a stored file gives the external variables (no upload name context: its first name). */
function variablesOf(f: FileRecord) {
  return scanVariables({ name: f.names[0] ?? null, newFile: false, submissions: f.timesSubmitted }, {
    magic: f.magic ?? '', typeDescription: f.typeDescription ?? '', typeTag: f.typeTag ?? 'unknown',
    typeTags: f.typeTags ?? [], typeExtension: f.typeExtension ?? '', tags: f.tags ?? [],
  });
}

/** The files of a job's corpus, a batch at a time after a cursor (see RetrohuntJob.walk). */
interface CorpusWalk {
  /** Files the walk may visit in all; null: every file of the corpus (the store counts them). */
  total: number | null;
  /** With `total`: how many of them come up to `sha256` included. */
  position(sha256: string | null): number;
  /** The next batch to scan, and the last sha256 it covers (files may be fewer: filtered); last null: the walk is over. */
  next(cursor: string | null): Promise<{ files: FileRecord[]; last: string | null }>;
  /** With verifyIndex: the content index's candidates, which every match must be among. */
  check?: ReadonlySet<string>;
}

export class RetrohuntJob implements JobHandler {
  /** Set at shutdown: running jobs record the files scanned so far and leave their job queued. */
  private stopping = false;

  constructor(
    private readonly store: Store,
    private readonly blobs: BlobStore,
    private readonly pool: WorkerPool,
    private readonly compiler: RuleCompiler,
    private readonly opts: RetrohuntJobOptions,
    /** Null: no content index (every job scans every file). */
    private readonly index: ContentIndex | null = null,
  ) {}

  async run(job: Job, log: Logger): Promise<void> {
    const id = String(job.payload.retrohuntId);
    let j = await this.store.getRetrohuntJob(id);
    if (!j || j.status === 'finished' || j.status === 'aborted') return void await this.store.deleteJob(job.id);
    if (j.status === 'aborting') return void await this.store.finishRetrohuntJob(id, job.id, 'aborted', now());
    // The rules compile on their thread while the walk is planned here.
    const compiling = this.compile(j, log);
    compiling.catch(() => undefined); // awaited below, unless the walk fails first
    const walk = await this.walk(j, log);
    const compiled = await compiling;
    if (typeof compiled === 'string') return void await this.store.finishRetrohuntJob(id, job.id, 'aborted', now(), abortReasons.rulesDoNotCompile(compiled));
    if (j.status === 'starting') {
      j = await this.store.startRetrohuntJob(id, now(), walk.total ?? (await this.store.retrohuntCorpusSize(j.timeRange, j.corpus)));
      if (!j) return void await this.store.deleteJob(job.id);
    }
    // An abort or delete is seen within a second, not only at the end of a batch.
    let stop = false;
    const watch = setInterval(() => {
      this.store.getRetrohuntJob(id).then((cur) => { if (!cur || cur.status === 'aborting') stop = true; }, () => undefined);
    }, this.opts.watchMs ?? 1000);
    let out: Awaited<ReturnType<RetrohuntJob['scanAll']>>;
    try {
      out = await this.scanAll(j, walk, compiled.hunt, new ScanPace(compiled.probeMbPerS), () => stop, log);
    } finally {
      clearInterval(watch);
    }
    j = out.job;
    if (out.ended === 'deleted') return void await this.store.deleteJob(job.id);
    if (j.status === 'aborting' || stop) {
      // Deleted meanwhile: the row is gone and only the durable job is left to remove.
      if (!(await this.store.getRetrohuntJob(id))) return void await this.store.deleteJob(job.id);
      log.info({ retrohunt: id, files: j.scannedFiles }, 'retrohunt job aborted');
      return void await this.store.finishRetrohuntJob(id, job.id, 'aborted', now());
    }
    if (!out.walked) {
      // this.stopping: the job stays claimed, and the next start (or, when its lease lapses,
      // another worker) resumes it after its last recorded batch.
      log.info({ retrohunt: id, files: j.scannedFiles }, 'retrohunt job paused by shutdown');
      return;
    }
    await this.store.finishRetrohuntJob(id, job.id, 'finished', now());
    log.info({ retrohunt: id, files: j.scannedFiles, matches: j.numMatches }, 'retrohunt job finished');
  }

  /**
   * Walks the corpus from the job's cursor, scanning files in the walk's order with a few in
   * flight across batch boundaries (the threads never wait for a batch's last scan), until the
   * walk ends or `aborted`, a shutdown or a record stops it. Each batch's matches and progress are
   * recorded once its scans are done and the batch before it is recorded: in order, so the
   * cursor always ends a prefix of the walk, while the next batches scan.
   */
  private async scanAll(j: RetrohuntJobRecord, walk: CorpusWalk, task: HuntTask, pace: ScanPace, aborted: () => boolean, log: Logger) {
    const runStarted = Date.now();
    const filesAtRunStart = j.scannedFiles;
    /** Set by a batch's record: the job was deleted, or is being aborted. */
    let ended: 'deleted' | 'aborting' | null = null;
    let failed = false;
    const stopped = () => aborted() || this.stopping || ended !== null || failed;
    const record = async (batch: { files: FileRecord[]; last: string }, scanned: number, scans: Promise<RetrohuntMatch[]>[]) => {
      const found = (await Promise.all(scans)).flat();
      const missed = walk.check ? found.filter((m) => !walk.check!.has(m.sha256)) : [];
      if (missed.length > 0) throw new Error(`the content index ruled out a file the rules match: ${missed[0]!.sha256} (${missed[0]!.rule})`);
      const files = batch.files.slice(0, scanned);
      const whole = files.length === batch.files.length;
      if (!whole && files.length === 0) return; // stopped before its first file
      const cursor = whole ? batch.last : files[files.length - 1]!.sha256;
      const scannedFiles = j.scannedFiles + files.length;
      const total = Math.max(j.totalFiles, scannedFiles);
      const perFileMs = (Date.now() - runStarted) / Math.max(1, scannedFiles - filesAtRunStart);
      const done = walk.total === null ? scannedFiles : walk.position(cursor);
      const next = await this.store.recordRetrohuntProgress(j.id, {
        cursor,
        scannedFiles,
        scannedBytes: j.scannedBytes + files.reduce((n, f) => n + f.size, 0),
        progress: (done / Math.max(1, walk.total ?? total)) * 100,
        etaSeconds: Math.ceil(((Math.max(0, (walk.total ?? total) - done)) * perFileMs) / 1000),
        matches: found,
      });
      if (!next) return void (ended = 'deleted');
      j = { ...next, rules: j.rules };
      if (j.status === 'aborting') ended = 'aborting';
    };
    const window = new ScanWindow(this.opts.inFlight ?? 2 * this.opts.maxRunning + 2);
    let recorded: Promise<void> = Promise.resolve();
    let walked = false;
    let reading = walk.next(j.cursor);
    for (;;) {
      const batch = await reading;
      if (batch.last === null) {
        walked = true;
        break;
      }
      if (stopped()) break;
      reading = walk.next(batch.last);
      reading.catch(() => undefined); // awaited at the next turn, or dropped when the job stops
      let cut = false;
      for (const part of recordParts(batch.files, batch.last)) {
        const scans: Promise<RetrohuntMatch[]>[] = [];
        let launched = 0;
        while (launched < part.files.length) {
          if (!(await window.enter(stopped))) break;
          const group = nextGroup(part.files, launched);
          launched += group.length;
          const scan = this.scan(group, task, pace, log).finally(() => window.leave());
          scan.catch(() => undefined); // seen by the part's record
          scans.push(scan);
        }
        const scanned = launched;
        recorded = recorded.then(() => record(part, scanned, scans));
        recorded.catch(() => void (failed = true));
        if ((cut = launched < part.files.length)) break;
      }
      if (cut) break;
    }
    await recorded;
    return { job: j, ended, walked: walked && !failed };
  }

  /**
   * How the job walks the corpus, in sha256 order: every file (total null: the store counts
   * them), or, when the content index can bound the rules, only its candidates.
   */
  private async walk(j: RetrohuntJobRecord, log: Logger): Promise<CorpusWalk> {
    const plan = this.index ? rulesQuery(j.rules) : null;
    // An index that cannot answer (a segment unreadable: the upkeep rebuilds it) costs the job
    // its speed, never its results: it scans every file.
    const found = plan && this.index ? await this.index.candidates(plan).catch((err: unknown) => {
      if (!(err instanceof ContentIndexUnusableError)) throw err;
      log.warn({ retrohunt: j.id, err: err.message }, 'content index unusable: the job scans every file');
      return null;
    }) : null;
    if (!found || this.opts.verifyIndex) {
      return {
        total: null,
        ...(found ? { check: new Set(found.sha256s) } : {}),
        position: () => 0,
        next: async (cursor) => {
          const files = await this.store.retrohuntCorpus(j.timeRange, cursor, this.opts.batchSize, j.corpus);
          return { files, last: files.length > 0 ? files[files.length - 1]!.sha256 : null };
        },
      };
    }
    const list = found.sha256s;
    log.info({ retrohunt: j.id, candidates: list.length, unindexed: found.unindexed, indexed: found.indexedFiles }, 'retrohunt job narrowed by the content index');
    /** Candidates up to and including `sha256` (the cursor): how far the walk is. */
    const position = (sha256: string | null) => {
      if (sha256 === null) return 0;
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (list[mid]! <= sha256) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    return {
      total: list.length,
      position,
      next: async (cursor) => {
        const from = position(cursor);
        const shas = list.slice(from, from + this.opts.batchSize);
        if (shas.length === 0) return { files: [], last: null };
        return { files: await this.store.retrohuntCandidates(j.timeRange, shas, j.corpus), last: shas[shas.length - 1]! };
      },
    };
  }

  /**
   * Makes running jobs stop after the scans in hand (at shutdown, before the runner's grace
   * period): they keep their progress and resume at the next start.
   */
  stop(): void {
    this.stopping = true;
  }

  /** The job's rules as a scan task; the engine's error (logged) when they no longer compile. */
  private async compile(j: RetrohuntJobRecord, log: Logger): Promise<{ hunt: HuntTask; probeMbPerS: number } | string> {
    const compiled = await this.compiler.compile([{ id: 0, generation: 0, rules: j.rules }], true, { probe: true });
    if (compiled.failed.length > 0) {
      log.warn({ retrohunt: j.id, error: compiled.failed[0]!.error }, 'retrohunt rules no longer compile: job aborted');
      return compiled.failed[0]!.error;
    }
    // Threads keep compiled sets by digest: each run of the job loads its rules once per thread.
    const digest = createHash('sha256').update(`retrohunt\0${j.id}\0${j.rules}`).digest('hex');
    return {
      hunt: { artifacts: [{ key: `retrohunt:${j.id}`, digest, bytes: compiled.bytes }], timeoutMs: this.opts.scanTimeoutMs, maxBytes: this.opts.maxScanBytes },
      probeMbPerS: compiled.probeMbPerS ?? 0,
    };
  }

  /**
   * The matches of `files` (consecutive files of the walk), scanned by one thread task. A file
   * gone from the blob store, or whose scan failed (a thread past its deadline), has none
   * (logged). Throws only at shutdown.
   */
  private async scan(files: FileRecord[], hunt: HuntTask, pace: ScanPace, log: Logger): Promise<RetrohuntMatch[]> {
    // Local blobs are not looked up one by one here: the thread reading them finds a missing one.
    const paths = await Promise.all(files.map((f) => this.blobs.knownPath(f.sha256) ?? this.blobs.localPath(f.sha256)));
    const present = files.flatMap((f, i) => (paths[i] ? [{ f, path: paths[i] }] : []));
    if (present.length === 0) return [];
    const task: HuntFilesTask = { kind: 'hunt-files', hunt, files: present.map(({ f, path }) => ({ path, variables: variablesOf(f) })) };
    let results: HuntFilesResult;
    try {
      results = await this.pool.run<HuntFilesResult>(task, [], {
        // Each scan has the engine's deadline; the thread's is theirs added up, and a second each.
        timeoutMs: present.length * (Math.ceil(hunt.timeoutMs / 1000) + 1) * 1000, lane: RETROHUNT_LANE, maxRunning: this.opts.maxRunning, priority: PRIORITY,
        // Long tasks leave one thread free while other lanes (uploads) have work, as Livehunt's large files do.
        heavy: pace.heavy(present.reduce((n, { f }) => n + f.size, 0)),
        background: true,
      });
    } catch (err) {
      // At shutdown the pool may close under the scan: the batch is not recorded, and runs again.
      if (this.stopping) throw err;
      log.warn({ sha256: present.map(({ f }) => f.sha256), err }, 'retrohunt scan failed: no matches for these files');
      return [];
    }
    return present.flatMap(({ f }, i) => {
      const r = results[i]!;
      if ('error' in r) {
        log.warn({ sha256: f.sha256, err: r.error }, 'retrohunt scan failed: no matches for this file');
        return [];
      }
      pace.add(f.size, r.scans);
      if (r.scans.some((s) => s.timedOut)) log.warn({ sha256: f.sha256 }, 'retrohunt scan timed out: no matches for this file');
      // A file never submitted itself is known only as a member of containers.
      return r.matches.map((m) => ({ sha256: f.sha256, rule: m.rule, snippet: m.snippet, matchInSubfile: f.timesSubmitted === 0 }));
    });
  }

  /**
   * A job that failed every attempt is aborted (never left `running`, holding one of its owner's
   * slots): the next waiting job of the owner starts. The raw error is in the log; the job's
   * reason says what failed without naming server paths.
   */
  async giveUp(job: Job, err: unknown, log: Logger): Promise<void> {
    log.error({ retrohunt: job.payload.retrohuntId, err: rawError(err) }, 'retrohunt job failed every attempt: aborted');
    const why = rawError(err).replace(/(?:[A-Za-z]:)?(?:[\\/][\w.@+-]+){2,}/g, '<path>');
    await this.store.finishRetrohuntJob(String(job.payload.retrohuntId), job.id, 'aborted', now(), abortReasons.failedEveryAttempt(why));
  }
}

