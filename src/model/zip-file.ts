// ZIP files (spec 6.5, `intelligence/zip_files`): stored files a user asked for in bulk, packed in
// the background into one (optionally password-protected) ZIP, as records the store keeps.

/** VirusTotal's statuses; `timeout` and `error-starting` are never reached by Trawl (docs/api.md). */
export type ZipFileStatus = 'starting' | 'creating' | 'finished' | 'timeout' | 'error-starting' | 'error-creating';

/** The durable job that builds a ZIP file, and its lane (in the runner and the pool). */
export const ZIP_FILE_JOB_KIND = 'zip-file';
export const ZIP_FILE_LANE = 'zip-file';

/** Hashes one ZIP file may ask for (the JSON body is bounded too: 16 MB). */
export const MAX_ZIP_FILE_HASHES = 10_000;

/** Longest password accepted (7-Zip and unzip take far longer ones; a bound keeps rows small). */
export const MAX_ZIP_PASSWORD = 1024;

export interface NewZipFile {
  ownerId: number;
  /** As given (SHA-256, SHA-1 or MD5, any case), duplicates removed. */
  hashes: string[];
  /** Null: a ZIP without encryption. Kept only until the ZIP is built. */
  password: string | null;
  creationDate: number;
}

export interface ZipFileRecord {
  /** A random decimal number, as VirusTotal's ids look. */
  id: string;
  ownerId: number;
  hashes: string[];
  /** Null once the ZIP is built (or failed), or when none was given. */
  password: string | null;
  /** Whether the ZIP is (to be) encrypted: kept after the password itself is forgotten. */
  encrypted: boolean;
  status: ZipFileStatus;
  /** 0 to 100. */
  progress: number;
  /** Files packed, and files asked for that are not stored (or whose content is missing). */
  filesOk: number;
  filesError: number;
  creationDate: number;
  finishDate: number | null;
  /** The blob holding the finished ZIP, and its size. */
  blob: string | null;
  size: number | null;
  /** Why it ended `error-creating` (for its owner: no server paths). */
  error: string | null;
}

/** How a ZIP file's build ended (ZipFileStore.finishZipFile). */
export type ZipFileOutcome =
  | { status: 'finished'; blob: string; size: number; filesOk: number; filesError: number }
  | { status: 'error-creating'; error: string; filesOk: number; filesError: number };
