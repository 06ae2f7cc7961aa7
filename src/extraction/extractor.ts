// What an extractor is: one per container format (extractors/), each saying which files it
// takes and unpacking one of them into a folder. Recursion, limits and bookkeeping are not
// theirs: extract-file.ts and the unpacker around it do that once for every format.
import type { ExtractionCaps, LimitHit } from './limits.js';

/** What is known about a file when choosing its extractor. */
export interface ContainerFacts {
  /** The first HEADER_BYTES bytes (fewer for small files). */
  header: Buffer;
  /** libmagic's description and MIME type. */
  magic: string;
  mime: string;
  size: number;
}

/** Enough of the file to find every signature we look for (UDF's lies past 32 KB). */
export const HEADER_BYTES = 40 * 1024;

export interface ExtractContext {
  path: string;
  size: number;
  /** An empty folder to unpack into; nothing may be written elsewhere. */
  outDir: string;
  caps: ExtractionCaps;
  /** Passwords to try on encrypted content, in order. */
  passwords: readonly string[];
}

/** How an extraction went; the files themselves are whatever it left in outDir. */
export interface ExtractOutcome {
  /** Why it failed or is incomplete (corrupt input, no password worked). */
  error?: string;
  /** A limit stopped it (files written before that are kept). */
  limit?: LimitHit;
  /** The password that opened encrypted content. */
  password?: string;
}

export interface Extractor {
  /** bundle_info.type. */
  readonly type: string;
  accepts(f: ContainerFacts): boolean;
  extract(ctx: ExtractContext): Promise<ExtractOutcome>;
}

/** True when `header` holds `bytes` (a string is taken as latin1) at `offset`. */
export function hasAt(header: Buffer, offset: number, bytes: string | readonly number[]): boolean {
  const want = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes);
  return header.length >= offset + want.length && header.subarray(offset, offset + want.length).equals(want);
}
