// ZIP file objects (spec 6.5): VirusTotal's four attributes, and Trawl's own beside them.
import type { ZipFileRecord } from '../../store/store.js';
import { absoluteUrl, type VtObject } from '../envelope.js';

export const zipFilePath = (id: string) => `/api/v3/intelligence/zip_files/${encodeURIComponent(id)}`;

export function zipFileObject(origin: string, z: ZipFileRecord): VtObject {
  return {
    type: 'zip_file',
    id: z.id,
    links: { self: absoluteUrl(origin, zipFilePath(z.id)) },
    attributes: {
      status: z.status,
      // 0 to 100, as VirusTotal's documentation shows it.
      progress: z.progress,
      files_ok: z.filesOk,
      files_error: z.filesError,
      // Trawl's own (docs/api.md): when it was asked for and ended, its size, why it failed.
      trawl_creation_date: z.creationDate,
      ...(z.finishDate !== null ? { trawl_finish_date: z.finishDate } : {}),
      ...(z.size !== null ? { trawl_size: z.size } : {}),
      trawl_encrypted: z.encrypted,
      ...(z.error !== null ? { trawl_error: z.error } : {}),
    },
  };
}
