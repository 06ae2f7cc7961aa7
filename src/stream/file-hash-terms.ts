// Files named in a filter by any hash: notifications know a file by its sha256 (their entity id
// and one of their tags), so an MD5 or SHA-1 is turned into the sha256 first, by one lookup on the
// files table's md5/sha1 index per term, before the notification query runs on its own indexes.
import { hashKind } from '../model/filter-grammar.js';
import type { FileStore } from '../store/store.js';

type Files = Pick<FileStore, 'getFile'>;

/**
 * The sha256 of the file `value` names (lower-cased): itself when it is a sha256; the stored
 * file's for an MD5 or SHA-1; null when it is not a hash or no stored file has it.
 */
export async function fileSha256(files: Files, value: string): Promise<string | null> {
  const kind = hashKind(value);
  if (kind === 'sha256') return value.toLowerCase();
  if (!kind) return null;
  return (await files.getFile(value))?.sha256 ?? null;
}

/**
 * Tag values with every MD5 or SHA-1 of a stored file replaced by its sha256 (the tag each of
 * its notifications carries). Any other value stays a tag as written: a ruleset may be named
 * with hex digits.
 */
export async function resolveHashTags(files: Files, tags: readonly string[]): Promise<string[]> {
  const out = await Promise.all(tags.map(async (t) => (hashKind(t) === 'md5' || hashKind(t) === 'sha1' ? ((await fileSha256(files, t)) ?? t) : t)));
  return [...new Set(out)];
}

/**
 * The one sha256 that every entity id of a filter names, or null when they name no stored file
 * or different files (nothing can match).
 */
export async function resolveEntityIds(files: Files, ids: readonly string[]): Promise<string | null> {
  const shas = new Set(await Promise.all(ids.map((id) => fileSha256(files, id))));
  const [only] = shas;
  return shas.size === 1 && only ? only : null;
}
