// Serialized File attributes, kept by file revision. Pages of notifications repeat the same
// files (a rule matching a campaign notifies on one file many times), and building and
// stringifying a File object cost more than the rest of a page: a page asks the store for its
// files' revisions only and serializes a file again only when it changed.
import type { FileRecord, Store } from '../store/store.js';
import { fileAttributes } from './serializers/file.js';

/** Files kept: a few MB (about 1 KB each), far more than one page of each of many readers. */
const DEFAULT_CAPACITY = 20_000;

interface Entry { revision: number; json: string }

export class FileDocuments {
  private readonly cache = new Map<string, Entry>();

  constructor(
    private readonly store: Store,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  /**
   * The JSON text of the `attributes` of each notification's file, by sha256, at least as new as
   * the revision read with it; files never stored (revision null) are left out.
   */
  async attributes(items: readonly { sha256: string; fileRevision: number | null }[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const missing: string[] = [];
    for (const { sha256, fileRevision: revision } of items) {
      if (revision === null || out.has(sha256)) continue;
      const hit = this.cache.get(sha256);
      if (hit && hit.revision >= revision) out.set(sha256, hit.json);
      else missing.push(sha256);
    }
    if (missing.length > 0) {
      for (const f of await this.store.getFiles(missing)) out.set(f.sha256, this.remember(f));
    }
    return out;
  }

  /** Serializes `f`, keeping it unless something newer is kept already. */
  remember(f: FileRecord): string {
    const revision = f.revision ?? 0;
    const kept = this.cache.get(f.sha256);
    if (kept && kept.revision >= revision) return kept.json;
    const json = JSON.stringify(fileAttributes(f));
    // Oldest insertion first out: cheap, and a page's files are re-inserted when they change.
    if (!kept && this.cache.size >= this.capacity) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(f.sha256, { revision, json });
    return json;
  }
}
