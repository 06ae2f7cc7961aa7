// The content index's records (content-index/): what the store keeps of it.

/** A file's trigrams as content-index/grams.ts encodes them; null: the file is not indexable (always scanned). */
export interface FileGrams {
  sha256: string;
  grams: Uint8Array | null;
}

/** A file indexed since the last segment was made. */
export interface PendingGrams {
  seq: number;
  sha256: string;
  grams: Uint8Array;
}

export interface NewContentIndexSegment {
  /** The segment's blob (its sha256) in the blob store. */
  blob: string;
  files: number;
  bytes: number;
  level: number;
}

export interface ContentIndexSegment extends NewContentIndexSegment {
  id: number;
  createdAt: number;
  retiredAt: number | null;
}
