// Starting up: a first start that fails after creating the admin does not lose its key; a
// process whose blob folder is not the deployment's refuses to start and says why.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { StartupRefused } from '../src/deployment/blob-store-marker.js';
import { startService } from '../src/main.js';

const config = (dir: string, flags: Record<string, string>) =>
  loadConfig({ env: {}, flags: { dataDir: dir, logLevel: 'silent', workers: '1', ...flags } });

describe('startup', () => {
  it('shows the admin key on the next start when the first start failed after creating it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-start-'));
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
    try {
      const port = String((taken.address() as { port: number }).port);
      await assert.rejects(startService(config(dir, { port })), /EADDRINUSE/);
      const s = await startService(config(dir, { port: '0' }));
      try {
        assert.match(s.adminKey ?? '', /^[0-9a-f]{64}$/, 'the admin is created again, with a key shown');
        assert.equal(await s.store.countUsers(), 1);
      } finally {
        await s.close();
      }
    } finally {
      taken.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a blob folder that is not the one the database was used with', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-start-'));
    try {
      const first = await startService(config(dir, { port: '0' }));
      await first.close();
      await assert.rejects(
        startService(config(dir, { port: '0', blobDir: join(dir, 'elsewhere') })),
        (e: unknown) => e instanceof StartupRefused && /lacks the deployment marker/.test(e.message) && e.message.includes(join(dir, 'elsewhere')),
      );
      const again = await startService(config(dir, { port: '0' }));
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
