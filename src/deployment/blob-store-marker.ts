// Processes that check each other: every API and worker process of a deployment must see the
// same blob store, or uploads received by one are missing for the others (their analyses fail)
// and each sweeps scratch space it does not know is in use. The first process to start draws a
// token and writes it to the database and then to the blob store; every later one finds the
// database's token in its blob store or refuses to start.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { BlobStore } from '../store/blobs/blob-store.js';
import type { SettingsStore } from '../store/store.js';

/** The setting holding the deployment's token (trawl migrate gives a new blob store the same). */
export const MARKER_SETTING = 'blob_store_marker';

/** A process that must not start: the message says what is wrong and what to do. */
export class StartupRefused extends Error {}

/**
 * Resolves when this process's blob store holds the deployment's marker, writing it there on a
 * deployment's first start. `waitMs`: how long a process that did not draw the token waits for
 * the one that did to write it (they may start together).
 */
export async function checkBlobStoreMarker(store: SettingsStore, blobs: BlobStore, log: Logger, waitMs = 5_000): Promise<void> {
  // The token carries its creation time: only a process starting just after the first waits.
  const drawn = `${randomBytes(12).toString('hex')}.${Math.floor(Date.now() / 1000)}`;
  const token = await store.setSettingIfAbsent(MARKER_SETTING, drawn);
  const first = token === drawn;
  const drawnAt = Number(token.split('.')[1] ?? 0) * 1000;
  const deadline = first ? 0 : Math.min(drawnAt + 2 * waitMs, Date.now() + waitMs);
  for (;;) {
    const found = await blobs.readMarker();
    if (found === token) return;
    if (found !== null) {
      throw new StartupRefused(
        `the blob store ${blobs.describe()} belongs to another Trawl deployment (its marker is ${found}; this database's is ${token}). ` +
        'Every API and worker process sharing a database must use the same blob store (the same --blob-url, or one --blob-dir they all mount); ' +
        'two deployments must not share one blob store or prefix.',
      );
    }
    if (first) {
      await blobs.writeMarker(token);
      log.info({ blobStore: blobs.describe() }, 'blob store marked as this deployment\'s');
      return;
    }
    if (Date.now() >= deadline) {
      throw new StartupRefused(
        `the blob store ${blobs.describe()} is not the one this deployment's other processes use: it lacks the deployment marker ${token} ` +
        '(file trawl-marker at the top of the blob folder or prefix). Every API and worker process sharing a database must use the same blob store: ' +
        'set the same --blob-url (S3-compatible storage) or a --blob-dir on storage they all mount. ' +
        `If this is that blob store, restored or moved, put the marker back: a file or object "trawl-marker" holding ${token}.`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
