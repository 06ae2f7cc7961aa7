// Which bundled files of a notification's file hold what its rule matched. A match in a subfile is
// notified on the submitted file (`match_in_subfile`) without naming the member; the web app's File
// page marks the member by finding the snippet's highlighted bytes in the file's subfiles, at every
// depth, read from the blob store within a budget (no download quota is spent on it).
import { highlightedBytes } from '../hunting/scan/snippet.js';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { NotificationRecord, Store } from '../store/store.js';

/** Bounds on one search: subfiles looked at, and bytes read. */
export const MATCHED_SUBFILE_LIMITS = { files: 500, bytes: 256 * 1024 * 1024 };

export interface MatchedSubfile {
  sha256: string;
  /** The archive it was found in (the notification's file or a subfile of it). */
  parent: string;
  /** Its path in that archive, when the extractor knew it. */
  name: string | null;
  /** The subfiles from the notification's file down to this one's parent (empty for a direct member). */
  via: string[];
}

export interface MatchedSubfiles {
  items: MatchedSubfile[];
  /** Subfiles looked at; `truncated` when the limits stopped the search before the last. */
  searched: number;
  truncated: boolean;
}

/** Whether `blob` holds `needle`, read as a stream (chunks overlap by the needle's length). */
async function holds(blobs: BlobStore, sha256: string, needle: Buffer): Promise<boolean> {
  const stream = await blobs.read(sha256);
  if (!stream) return false;
  let tail: Buffer = Buffer.alloc(0);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      const data: Buffer = tail.length ? Buffer.concat([tail, chunk]) : chunk;
      if (data.indexOf(needle) >= 0) return true;
      tail = data.subarray(Math.max(0, data.length - needle.length + 1));
    }
  } finally {
    stream.destroy();
  }
  return false;
}

/**
 * The subfiles of `n`'s file, breadth first at every depth, whose bytes hold the longest
 * highlighted run of its snippet. None when the notification has no snippet (a rule matched on
 * its condition alone) or did not match in a subfile.
 */
export async function matchedSubfiles(store: Pick<Store, 'listFileLinks'>, blobs: BlobStore, n: NotificationRecord, limits = MATCHED_SUBFILE_LIMITS): Promise<MatchedSubfiles> {
  const needle = n.matchInSubfile && n.snippet ? highlightedBytes(n.snippet) : Buffer.alloc(0);
  const out: MatchedSubfiles = { items: [], searched: 0, truncated: false };
  if (needle.length === 0) return out;
  // Each subfile's way down from the notification's file (the first way the walk found).
  const via = new Map<string, string[]>([[n.sha256, []]]);
  const queue = [n.sha256];
  let bytes = 0;
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (let after: string | null = null; ;) {
      const links = await store.listFileLinks(parent, 'children', after, 100);
      for (const l of links) {
        if (via.has(l.file.sha256)) continue;
        const way = parent === n.sha256 ? [] : [...via.get(parent)!, parent];
        via.set(l.file.sha256, way);
        const size = l.file.size ?? 0;
        if (out.searched >= limits.files || bytes + size > limits.bytes) {
          out.truncated = true;
          return out;
        }
        out.searched++;
        bytes += size;
        if (await holds(blobs, l.file.sha256, needle)) out.items.push({ sha256: l.file.sha256, parent, name: l.name, via: way });
        queue.push(l.file.sha256);
      }
      if (links.length < 100) break;
      after = links[links.length - 1]!.file.sha256;
    }
  }
  return out;
}
