// What travels between the rules catalog (main thread) and the threads that scan: compiled rule
// sets as shared memory, and what a scan found. Namespaces carry ruleset id and generation, so a
// match always says which version of a ruleset produced it.

/** A compiled set of rulesets as a scanning thread gets it: serialized into shared memory. */
export interface ScanArtifact {
  /** What the set is: `shard:N`, `delta` or `quarantine:ID`. */
  key: string;
  /** Changes whenever the content does: threads cache deserialized sets by it. */
  digest: string;
  bytes: SharedArrayBuffer;
}

/** A compiled set with its members, as the catalog keeps it. */
export interface RulesArtifact extends ScanArtifact {
  /** Members, as [ruleset id, generation]. */
  members: [number, number][];
}

/** Only what a thread needs: tasks are structured-cloned, members lists would be copied each time. */
export const forScan = (a: RulesArtifact): ScanArtifact => ({ key: a.key, digest: a.digest, bytes: a.bytes });

/** How a thread scans one file with a set of artifacts. */
export interface HuntTask {
  artifacts: ScanArtifact[];
  /** Per-artifact scan timeout (the engine rounds up to whole seconds). */
  timeoutMs: number;
  /** Files larger than this are not scanned. */
  maxBytes: number;
}

/** One rule of one ruleset version that matched. */
export interface RawMatch {
  rulesetId: number;
  generation: number;
  rule: string;
  tags: string[];
  /** Spec 3.5 hexdump; null for rules that matched on their condition alone. */
  snippet: string | null;
  /** Key of the artifact the match came from. */
  artifact: string;
}

/** How long one artifact took on the file. */
export interface ScanReport {
  key: string;
  ms: number;
  timedOut: boolean;
}

/** A compiled set a scanning thread deserialized (once per set and thread, in the steady state). */
export interface RulesLoad {
  key: string;
  digest: string;
  /** Size of the serialized set. */
  bytes: number;
  ms: number;
  /** The worker thread's id, how many sets it has deserialized (this one included) and files scanned. */
  thread: number;
  loadsSoFar: number;
  scansSoFar: number;
}

export interface HuntResult {
  matches: RawMatch[];
  scans: ScanReport[];
  /** Why the file was not scanned at all. */
  skipped?: 'too-large';
  /** Sets this thread deserialized for this scan. */
  loads?: RulesLoad[];
}

/** The id a ruleset version is compiled under (compileRulesets ids; namespace `r<id>_<gen>`). */
export const versionId = (id: number, generation: number) => `${id}_${generation}`;

/** Inverse of versionId; null for anything else. */
export function parseVersionId(v: string): { id: number; generation: number } | null {
  const m = /^(\d+)_(\d+)$/.exec(v);
  return m ? { id: Number(m[1]), generation: Number(m[2]) } : null;
}
