// Durability: SIGKILL the real `trawl serve` process in the middle of a burst of uploads, restart
// it, and check that every acknowledged upload is present, downloadable and analysed.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { serveChild as serve } from './helpers/child-service.js';
import { api, fileForm, waitForAnalysis } from './helpers/service.js';

describe('crash recovery', () => {
  it('keeps every acknowledged upload across a SIGKILL mid-burst', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-crash-'));
    try {
      const first = await serve(dir);
      assert.ok(first.key, 'first start prints the admin key');
      const key = first.key!;
      const acked = new Map<string, { sha256: string; content: Buffer }>();
      let attempted = 0;
      // Each client uploads until a request fails because the server is gone, so the kill always
      // leaves attempts unanswered (stopping the clients at the kill could let every request in
      // flight have its answer already on its way, and then no upload was interrupted).
      const client = async () => {
        for (;;) {
          const content = randomBytes(1000 + Math.floor(Math.random() * 60_000));
          attempted++;
          try {
            const r = await api(first.url, key, 'POST', '/api/v3/files', fileForm(content, `f${attempted}.bin`));
            if (r.status === 200) acked.set(r.body.data.id, { sha256: createHash('sha256').update(content).digest('hex'), content });
          } catch {
            return; // the server is gone
          }
        }
      };
      const clients = Array.from({ length: 8 }, client);
      while (acked.size < 150) await new Promise((r) => setTimeout(r, 5));
      first.child.kill('SIGKILL');
      await Promise.all(clients);
      assert.ok(attempted > acked.size, 'the kill interrupted uploads in flight');

      const second = await serve(dir);
      try {
        assert.equal(second.key, null, 'no new admin on restart');
        for (const [id, { sha256, content }] of acked) {
          const analysis = await waitForAnalysis(second.url, key, id, 60_000);
          assert.equal(analysis.attributes.status, 'completed');
          const f = await api(second.url, key, 'GET', `/api/v3/files/${sha256}`);
          assert.equal(f.status, 200);
          assert.equal(typeof f.body.data.attributes.last_analysis_date, 'number');
          const bytes = Buffer.from(await (await fetch(`${second.url}/api/v3/files/${sha256}/download`, { headers: { 'x-apikey': key } })).arrayBuffer());
          assert.ok(bytes.equals(content), `content of ${sha256} intact`);
        }
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
