// The walk through one submission: the submitted file and, recursively, every file unpacked from
// it. Each file is analysed, hunted and (if it is a container) unpacked one level on a worker
// thread; its children are moved into the blob store and walked in turn, side by side on the
// pool. The budget (extraction/limits.ts) spans the whole walk; a limit or a failure stops one
// branch and is written in its parent's bundle_info.error, never failing the submission.
import { join } from 'node:path';
import type { Logger } from 'pino';
import { UNANALYSABLE } from '../analysis/pipeline.js';
import { bundleInfo } from './bundle-info.js';
import type { Container, ExtractRequest, Extraction } from './extract-file.js';
import { describeLimit, ExtractionBudget, type ExtractionLimits } from './limits.js';
import type { Hunter } from '../hunting/scan/hunter.js';
import type { HuntTask, RawMatch } from '../hunting/engine/rules-artifact.js';
import type { RulesSnapshot } from '../hunting/scan/rules-catalog.js';
import type { ScanContext, ScanVariables } from '../hunting/scan/scan-variables.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { BundleInfo, FileAnalysis, FileGrams, FileRecord, NewSubfile, Store } from '../store/store.js';
import type { AnalyzeResult, AnalyzeTask, ExtractTask } from './walk-tasks.js';
import type { WorkerPool } from '../threads/worker-pool.js';

export interface WalkOptions {
  limits: ExtractionLimits;
  /** Deadline of the analysis part of a task (the scan and the unpacking add their own). */
  analysisTimeoutMs: number;
  /** Set: each file's trigrams are taken for the content index, when it is at most this many bytes. */
  indexMaxBytes?: number;
}

interface FileNode {
  path: string;
  sha256: string;
  size: number;
  depth: number;
  /** Its name (at upload, or inside its container); null when it has none. */
  name: string | null;
  /** Never analysed before this walk, and how often it was submitted itself (for the rules' variables). */
  newFile: boolean;
  submissions: number;
}

/**
 * Files from this size on are heavy for the pool (WorkerPool reserveMs): with the slowest rules
 * the speed probe lets in (2 MB/s) one takes half a second of a thread or more.
 */
export const HEAVY_BYTES = 1024 * 1024;

/** Files looked up at once when a container's members are about to be hunted. */
const LOOKUP_BATCH = 1000;

const COMPRESSED_SUFFIX = /\.(t?gz|tgz|gzip|bz2|tbz2?|xz|txz|zst|tzst|z)$/i;

/**
 * The name of what a single-stream compressor (gzip, xz, ...) held when the stream stored none:
 * 7-Zip names it after the blob it unpacked (`<sha256>~`); we name it after the container, as
 * gunzip would (`a.tar.gz` -> `a.tar`, `a.tgz` -> `a.tar`).
 */
function childName(name: string, parent: FileNode): string {
  if (name !== `${parent.sha256}~` && name !== parent.sha256) return name;
  const base = (parent.name ?? parent.sha256).slice((parent.name ?? '').lastIndexOf('/') + 1);
  if (!COMPRESSED_SUFFIX.test(base)) return base;
  return base.replace(/\.t(gz|bz2?|xz|zst)$/i, '.tar').replace(COMPRESSED_SUFFIX, '');
}

export interface WalkResult {
  analysis: FileAnalysis;
  /** Matches accepted for the submitted file, then those in subfiles. */
  matches: RawMatch[];
  /** Which of `matches` were found in a subfile. */
  inSubfile: ReadonlySet<RawMatch>;
  subfiles: NewSubfile[];
  /** What a late scan (of quarantined sets) would scan: every file hunted. */
  hunted: HuntedFile[];
  /** Trigrams of the files walked, for the content index (when asked). */
  indexed: FileGrams[];
  /** Files walked whose trigrams were not taken: the index had them already. */
  indexSkipped: number;
}

/** A file the walk hunted, with what its scan variables come from. */
export interface HuntedFile {
  sha256: string;
  depth: number;
  context: ScanContext;
  analysis: FileAnalysis;
}

/** A file of the walk as the late scan gets it (late-scan-job.ts). */
export interface LateFile {
  sha256: string;
  depth: number;
  variables: ScanVariables;
}

export class SubmissionWalk {
  private readonly budget: ExtractionBudget;
  /** Files of this submission already walked (or being walked): each is walked once. */
  private readonly seen = new Set<string>();
  private readonly types = new Map<string, string>();
  private readonly subfiles = new Map<string, NewSubfile>();
  private readonly topMatches: RawMatch[] = [];
  private readonly subMatches: RawMatch[] = [];
  private readonly hunted: HuntedFile[] = [];
  private readonly indexed: FileGrams[] = [];
  /** Files the content index holds already (a file submitted again, a known member): their trigrams are not taken again. */
  private readonly inIndex = new Set<string>();
  private indexSkipped = 0;
  private readonly hunt: HuntTask | null;
  private readonly passwords: string[];
  private scratch: string | null = null;
  /** Set once a worker may have made the scratch folder (it is made only for a container). */
  private scratchUsed = false;
  private extractions = 0;

  constructor(
    private readonly deps: {
      pool: WorkerPool;
      blobs: BlobStore;
      /** What is known of unpacked files already (new_file and submissions of their scans). */
      store: Pick<Store, 'getFiles' | 'listIndexedFiles'>;
      hunter: Hunter | null;
      snap: RulesSnapshot | null;
      log: Logger;
      /** The pool lane of this walk's tasks: the submitting user's. */
      lane: string;
    },
    private readonly opts: WalkOptions,
    uploadPassword: string | null,
  ) {
    this.budget = new ExtractionBudget(opts.limits);
    this.passwords = [...new Set([uploadPassword, ...opts.limits.passwords].filter((p): p is string => !!p))];
    this.hunt = deps.hunter && deps.snap ? deps.hunter.task(deps.snap) : null;
  }

  /**
   * Walks the submitted file (`known`: its record, with this submission counted); its own
   * analysis failing throws (the job is retried).
   */
  async run(file: { path: string; sha256: string; size: number; name: string | null }, known: FileRecord | null): Promise<WalkResult> {
    this.seen.add(file.sha256);
    try {
      await this.lookUpIndexed([file.sha256]);
      const analysis = await this.visit({ ...file, depth: 0, newFile: known?.lastAnalysisDate === undefined, submissions: known?.timesSubmitted ?? 1 });
      return {
        analysis,
        matches: [...this.topMatches, ...this.subMatches],
        inSubfile: new Set(this.subMatches),
        subfiles: [...this.subfiles.values()],
        hunted: this.hunted,
        indexed: this.indexed,
        indexSkipped: this.indexSkipped,
      };
    } finally {
      if (this.scratch && this.scratchUsed) await this.deps.blobs.dropScratch(this.scratch).catch(() => undefined);
    }
  }

  private async extractRequest(node: FileNode): Promise<ExtractRequest> {
    this.scratch ??= await this.deps.blobs.scratchDir();
    // The worker makes the folder (and the scratch folder above it) only for a container.
    return { outDir: join(this.scratch, String(++this.extractions)), caps: this.budget.caps(node.size), passwords: this.passwords, requestedAt: Date.now() };
  }

  private async visit(node: FileNode): Promise<FileAnalysis> {
    const { pool, hunter, snap, log } = this.deps;
    const hunt = this.hunt;
    const context: ScanContext = { name: node.name, newFile: node.newFile, submissions: node.submissions };
    const probeContainer = this.opts.limits.maxDepth > 0;
    // Taken, then ignored by the store (indexFiles), for a file the index holds: not taken.
    const index = this.opts.indexMaxBytes !== undefined && !this.inIndex.has(node.sha256);
    if (this.opts.indexMaxBytes !== undefined && !index) this.indexSkipped++;
    const task: AnalyzeTask = {
      kind: 'analyze', path: node.path, ...(hunt ? { hunt, context } : {}), ...(probeContainer ? { probeContainer } : {}),
      ...(index ? { indexMaxBytes: this.opts.indexMaxBytes } : {}),
    };
    const timeoutMs = this.opts.analysisTimeoutMs + (hunter?.deadlineMs(hunt) ?? 0);
    // Deeper files wait for shallower ones: an archive's thousands of members do not delay the
    // files uploaded after it (their own analysis, hunting and notifications).
    const result = await pool.run<AnalyzeResult>(task, [], { timeoutMs, priority: node.depth, lane: this.deps.lane, heavy: node.size >= HEAVY_BYTES });
    this.types.set(node.sha256, result.analysis.typeDescription);
    if (result.grams !== undefined) this.indexed.push({ sha256: node.sha256, grams: result.grams });
    // Kept for a late scan: a ruleset quarantined during this walk, or before it, scans them later.
    if (hunter) this.hunted.push({ sha256: node.sha256, depth: node.depth, context, analysis: result.analysis });
    if (snap && hunter && result.hunt) {
      if (result.hunt.skipped) log.info({ sha256: node.sha256, reason: result.hunt.skipped }, 'file not scanned');
      const matches = await hunter.settle(snap, result.hunt, node);
      (node.depth === 0 ? this.topMatches : this.subMatches).push(...matches);
    }
    const analysis = result.analysis;
    if (result.container) {
      // A container not to be unpacked (too deep, budget spent) is only flagged: no thread needed.
      const refused = this.budget.refusal(node.depth);
      if (refused) {
        analysis.bundleInfo = await this.unpacked(node, { type: result.container.type, entries: [], limit: refused }, null);
      } else {
        const extract = await this.extractRequest(node);
        analysis.bundleInfo = await this.unpacked(node, await this.extract(node, result.container, extract), extract.outDir);
      }
    }
    return analysis;
  }

  /**
   * Unpacks `node` one level, as a task at its children's priority: that work is theirs, and
   * waits with them (e.g. behind bulk uploads, or the files submitted after this one). A task
   * that fails costs the unpacking only: the file's own analysis stands, and the failure is
   * written in its bundle_info.
   */
  private async extract(node: FileNode, container: Container, req: ExtractRequest): Promise<Extraction> {
    const task: ExtractTask = { kind: 'extract', path: node.path, size: node.size, container, extract: req };
    const timeoutMs = this.opts.analysisTimeoutMs + this.opts.limits.timeoutMs;
    try {
      const ex = await this.deps.pool.run<Extraction | null>(task, [], { timeoutMs, priority: node.depth + 1, lane: this.deps.lane, heavy: node.size >= HEAVY_BYTES });
      if (ex?.deadline) this.budget.extendTo(ex.deadline);
      return ex ?? { type: container.type, entries: [] };
    } catch (err) {
      this.deps.log.warn({ err, sha256: node.sha256 }, 'unpacking failed');
      return { type: container.type, entries: [], error: `${container.type} unpacking failed: ${(err as Error).message}` };
    } finally {
      // The worker made the folder to unpack into; it may hold part of the files even if the task failed.
      this.scratchUsed = true;
    }
  }

  /** Takes in what unpacking `node` produced, walks the new children, and describes the bundle. */
  private async unpacked(node: FileNode, ex: Extraction, outDir: string | null): Promise<BundleInfo> {
    const problems = new Set<string>();
    if (ex.limit) problems.add(describeLimit(ex.limit, this.opts.limits));
    const { accepted, limit } = this.budget.take(ex.entries.map((e) => e.size));
    if (limit) problems.add(describeLimit(limit, this.opts.limits));
    const kept = ex.entries.slice(0, accepted).map((e) => ({ ...e, name: childName(e.name, node) }));
    const fresh = kept.filter((e) => !this.seen.has(e.sha256) && Boolean(this.seen.add(e.sha256)));
    const isFresh = new Set(fresh);
    try {
      await this.deps.blobs.adopt(fresh.map((e) => ({ path: e.path, sha256: e.sha256 })));
    } finally {
      if (outDir) await this.deps.blobs.dropScratch(outDir).catch(() => undefined);
    }
    for (const e of kept) {
      // An archive containing itself (a quine) links to nothing: it is the submission.
      if (e.sha256 === node.sha256 || (!this.subfiles.has(e.sha256) && !isFresh.has(e))) continue;
      const sub = this.subfiles.get(e.sha256) ?? { sha256: e.sha256, sha1: e.sha1, md5: e.md5, size: e.size, analysis: UNANALYSABLE, parents: [] };
      sub.parents.push({ sha256: node.sha256, name: e.name });
      this.subfiles.set(e.sha256, sub);
    }
    const [known] = await Promise.all([this.known(fresh.map((e) => e.sha256)), this.lookUpIndexed(fresh.map((e) => e.sha256))]);
    await Promise.all(fresh.map((e) => this.visitChild(e, node.depth + 1, known.get(e.sha256))));
    const children = kept.map((e) => ({ ...e, typeDescription: this.types.get(e.sha256) ?? 'unknown' }));
    return bundleInfo(ex, children, [...problems]);
  }

  /** The records of those of `sha256s` already stored; only looked up when the files will be hunted. */
  private async known(sha256s: string[]): Promise<Map<string, FileRecord>> {
    const out = new Map<string, FileRecord>();
    if (!this.deps.hunter || !this.deps.snap) return out;
    for (let i = 0; i < sha256s.length; i += LOOKUP_BATCH) {
      for (const f of await this.deps.store.getFiles(sha256s.slice(i, i + LOOKUP_BATCH))) out.set(f.sha256, f);
    }
    return out;
  }

  /** Notes which of `sha256s` the content index holds already (when trigrams are taken at all). */
  private async lookUpIndexed(sha256s: string[]): Promise<void> {
    if (this.opts.indexMaxBytes === undefined || sha256s.length === 0) return;
    for (const h of await this.deps.store.listIndexedFiles(sha256s)) this.inIndex.add(h);
  }

  private async visitChild(e: { sha256: string; size: number; name: string }, depth: number, known: FileRecord | undefined): Promise<void> {
    const sub = this.subfiles.get(e.sha256);
    const path = await this.deps.blobs.localPath(e.sha256);
    if (!sub || !path) return;
    try {
      const newFile = known?.lastAnalysisDate === undefined;
      sub.analysis = await this.visit({ path, sha256: e.sha256, size: e.size, depth, name: e.name, newFile, submissions: known?.timesSubmitted ?? 0 });
    } catch (err) {
      // One subfile that cannot be analysed (its worker timed out or crashed) costs only itself.
      this.deps.log.warn({ err, sha256: e.sha256, name: e.name }, 'subfile could not be analysed');
    }
  }
}
