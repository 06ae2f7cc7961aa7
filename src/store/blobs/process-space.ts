// Each process's own local working folder, `<parent>/p-<process id>/`: uploads being received,
// unpacked members, cached blobs. No process sweeps another's folder while that process lives,
// so a parent shared by several processes (one machine, or a blob folder on a shared mount) is
// safe; folders of processes no longer alive are removed by whichever process sweeps next.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

const PREFIX = 'p-';

export class ProcessSpace {
  readonly dir: string;

  constructor(
    private readonly parent: string,
    readonly processId: string,
  ) {
    if (!/^[A-Za-z0-9._-]+$/.test(processId)) throw new Error(`process id not usable as a folder name: ${processId}`);
    this.dir = join(parent, PREFIX + processId);
  }

  /**
   * Removes everything under the parent but the folders of `live` processes (this one is always
   * live): leftovers of processes that died, and of layouts before per-process folders.
   */
  async sweep(live: ReadonlySet<string>): Promise<void> {
    const names = await readdir(this.parent).catch(() => [] as string[]);
    const keep = (n: string) => n === PREFIX + this.processId || (n.startsWith(PREFIX) && live.has(n.slice(PREFIX.length)));
    await Promise.all(names.filter((n) => !keep(n)).map((n) => rm(join(this.parent, n), { recursive: true, force: true })));
  }
}
