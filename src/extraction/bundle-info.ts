// bundle_info (spec 6.1) of a container, from what unpacking it found and how its children were
// typed.
import type { BundleInfo } from '../store/store.js';
import type { Extraction } from './extract-file.js';

/** VirusTotal's datetime format, in UTC: `2024-01-31 13:45:00`. */
export function vtDatetime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function extensionOf(name: string): string | null {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 && dot < base.length - 1 ? base.slice(dot + 1).toLowerCase() : null;
}

const count = (into: Record<string, number>, key: string) => {
  into[key] = (into[key] ?? 0) + 1;
};

/**
 * @param children the entries kept (after limits), with their type_description
 * @param problems why unpacking was incomplete, besides the extraction's own error
 */
export function bundleInfo(
  ex: Extraction,
  children: readonly { name: string; size: number; mtime: number | null; typeDescription: string }[],
  problems: readonly string[],
): BundleInfo {
  const info: BundleInfo = { type: ex.type, num_children: children.length, uncompressed_size: 0, extensions: {}, file_types: {} };
  let lowest = Infinity;
  let highest = -Infinity;
  for (const c of children) {
    info.uncompressed_size += c.size;
    const ext = extensionOf(c.name);
    if (ext) count(info.extensions, ext);
    count(info.file_types, c.typeDescription);
    if (c.mtime !== null) {
      lowest = Math.min(lowest, c.mtime);
      highest = Math.max(highest, c.mtime);
    }
  }
  if (highest >= lowest) {
    info.highest_datetime = vtDatetime(highest);
    info.lowest_datetime = vtDatetime(lowest);
  }
  if (ex.password) info.password = ex.password;
  const errors = [...(ex.error ? [ex.error] : []), ...problems];
  if (errors.length > 0) info.error = errors.join('; ');
  return info;
}
