// One contract for every blob store: the folder store and the S3 store (against a real
// S3-protocol server on loopback) must behave the same wherever Trawl relies on them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { TrawlError } from '../src/model/errors.js';
import type { BlobStore } from '../src/store/blobs/blob-store.js';
import { FsBlobStore } from '../src/store/blobs/fs-blob-store.js';
import { ProcessSpace } from '../src/store/blobs/process-space.js';
import { S3BlobStore } from '../src/store/blobs/s3-blob-store.js';
import { startS3, type TestS3 } from './helpers/s3-server.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function bytesOf(r: Readable | null): Promise<Buffer | null> {
  if (!r) return null;
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

async function put(store: BlobStore, content: Buffer): Promise<string> {
  const w = await store.create();
  for (let i = 0; i < content.length; i += 64 * 1024) await w.write(content.subarray(i, i + 64 * 1024));
  const h = sha(content);
  await w.commit(h);
  return h;
}

interface Kind {
  name: string;
  /** A store as process `id` of one deployment would open it. */
  open(id: string): BlobStore;
  /** The folder under which a process keeps its local work. */
  spaceParent(): string;
}

let s3: TestS3;
let root: string;
let prefixSeq = 0;

const kinds: Kind[] = [
  {
    name: 'folder',
    open: (id) => new FsBlobStore(join(root, 'fs-blobs'), id),
    spaceParent: () => join(root, 'fs-blobs', 'tmp'),
  },
  {
    name: 'S3',
    open: (id) => new S3BlobStore({
      bucket: s3.bucket, prefix: `t${prefixSeq}/`, endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      space: new ProcessSpace(join(root, 'local'), id), cacheBytes: 64 * 1024 * 1024,
    }),
    spaceParent: () => join(root, 'local'),
  },
];

before(async () => {
  s3 = await startS3();
});
after(async () => {
  await s3.close();
});

for (const kind of kinds) {
  describe(`blob store contract: ${kind.name}`, () => {
    let store: BlobStore;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'trawl-blobs-'));
      prefixSeq++;
      store = kind.open('proc-a');
    });
    after(async () => {
      store.close();
      await rm(root, { recursive: true, force: true });
    });

    it('stores a blob under its sha256 and reads it back whole, by range and on disk', async () => {
      const content = Buffer.from('hello, trawl blob store '.repeat(1000));
      const h = await put(store, content);
      assert.equal(await store.has(h), true);
      assert.deepEqual(await bytesOf(await store.read(h)), content);
      assert.deepEqual(await bytesOf(await store.read(h, { start: 7, end: 11 })), Buffer.from('trawl'));
      const path = await store.localPath(h);
      assert.ok(path);
      assert.deepEqual(await readFile(path), content);
      // knownPath, without looking: the same path where blobs are local files, else null.
      const known = store.knownPath(h);
      if (known !== null) assert.equal(known, path);
    });

    it('answers null and false for what it does not hold, and for what is not a sha256', async () => {
      const absent = sha(Buffer.from('never stored'));
      assert.equal(await store.has(absent), false);
      assert.equal(await store.read(absent), null);
      assert.equal(await store.localPath(absent), null);
      assert.equal(await store.localPath('../../etc/passwd'), null);
      assert.equal(store.knownPath('../../etc/passwd'), null);
      assert.equal(await store.read('not-a-hash'), null);
    });

    it('keeps one copy when the same content is committed twice, and drops aborted writes', async () => {
      const content = Buffer.from('twice');
      const a = await store.create();
      const b = await store.create();
      await a.write(content);
      await b.write(content);
      await a.commit(sha(content));
      await b.commit(sha(content));
      assert.deepEqual(await bytesOf(await store.read(sha(content))), content);
      const c = await store.create();
      await c.write(Buffer.from('abandoned'));
      const partial = c.localPath;
      await c.abort();
      await c.abort();
      assert.equal(await store.has(sha(Buffer.from('abandoned'))), false);
      if (partial) assert.equal(existsSync(partial), false);
    });

    it('round-trips a blob larger than one multipart part (12 MB)', async () => {
      const content = Buffer.alloc(12 * 1024 * 1024);
      for (let i = 0; i < content.length; i += 4096) content.writeUInt32LE(i, i);
      const h = await put(store, content);
      const back = await bytesOf(await store.read(h));
      assert.equal(back!.length, content.length);
      assert.equal(sha(back!), h);
    });

    it('adopts files made in a scratch folder, once per content, and drops the folder', async () => {
      const dir = await store.scratchDir();
      await mkdir(dir, { recursive: true });
      const one = Buffer.from('member one');
      const known = Buffer.from('twice');
      await writeFile(join(dir, 'one'), one);
      await writeFile(join(dir, 'known'), known);
      await store.adopt([{ path: join(dir, 'one'), sha256: sha(one) }, { path: join(dir, 'known'), sha256: sha(known) }]);
      assert.deepEqual(await bytesOf(await store.read(sha(one))), one);
      assert.deepEqual(await bytesOf(await store.read(sha(known))), known);
      await store.dropScratch(dir);
      assert.equal(existsSync(dir), false);
      await assert.rejects(store.dropScratch('/etc'), /not a scratch folder/);
    });

    it('is shared: another process of the deployment reads what this one stored', async () => {
      const other = kind.open('proc-b');
      try {
        const content = Buffer.from('seen by every process');
        const h = await put(store, content);
        assert.equal(await other.has(h), true);
        assert.deepEqual(await readFile((await other.localPath(h))!), content);
      } finally {
        other.close();
      }
    });

    it('deletes a blob (its local copy too): gone for this process and for one that never held it; a second delete is no error', async () => {
      // Another process's cached copy of the same immutable content may outlive the delete: only
      // blobs nobody reads any more are deleted (retired index segments).
      const content = Buffer.from('a retired index segment');
      const h = await put(store, content);
      assert.ok(await store.localPath(h));
      await store.delete(h);
      assert.equal(await store.has(h), false);
      assert.equal(await store.localPath(h), null);
      assert.equal(await bytesOf(await store.read(h)), null);
      const other = kind.open('proc-c');
      try {
        assert.equal(await other.has(h), false);
        await other.delete(h);
        await store.delete('../../etc/passwd');
      } finally {
        other.close();
      }
    });

    it('sweeps the local work of processes no longer alive, and only theirs', async () => {
      const live = kind.open('proc-live');
      const dead = kind.open('proc-dead');
      try {
        for (const s of [live, dead]) {
          const w = await s.create();
          await w.write(Buffer.from('in flight'));
          const dir = await s.scratchDir();
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, 'member'), 'x');
        }
        await mkdir(join(kind.spaceParent(), 'left-by-an-old-version'), { recursive: true });
        await store.sweep(new Set(['proc-live']));
        const left = (await readdir(kind.spaceParent())).sort();
        assert.ok(left.includes('p-proc-live'), `live process's folder kept: ${left}`);
        assert.ok(left.includes('p-proc-a'), `the sweeping process's own folder kept: ${left}`);
        assert.ok(!left.includes('p-proc-dead'), `dead process's folder removed: ${left}`);
        assert.ok(!left.includes('left-by-an-old-version'));
      } finally {
        live.close();
        dead.close();
      }
    });

    it('holds the deployment marker', async () => {
      assert.equal(await store.readMarker(), null);
      await store.writeMarker('token-1');
      assert.equal(await store.readMarker(), 'token-1');
      const other = kind.open('proc-c');
      assert.equal(await other.readMarker(), 'token-1');
      other.close();
    });

    it('lists every committed blob once, and nothing else (blobs being written, scratch files, the marker written above)', async () => {
      const stored = [Buffer.from('listed one'), Buffer.from('listed two')];
      const hashes = [];
      for (const b of stored) hashes.push(await put(store, b));
      const inFlight = await store.create();
      await inFlight.write(Buffer.from('not committed'));
      const dir = await store.scratchDir();
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, sha(Buffer.from('scratch'))), 'scratch');
      try {
        const listed: string[] = [];
        for await (const h of store.list()) listed.push(h);
        assert.equal(new Set(listed).size, listed.length, 'each once');
        for (const h of hashes) assert.ok(listed.includes(h), `lists ${h}`);
        assert.ok(!listed.includes(sha(Buffer.from('not committed'))));
        assert.ok(!listed.includes(sha(Buffer.from('scratch'))));
        for (const h of listed) {
          assert.match(h, /^[0-9a-f]{64}$/);
          assert.equal(await store.has(h), true, `${h} listed and held`);
        }
      } finally {
        await inFlight.abort();
        await store.dropScratch(dir);
      }
    });

    it('says it is reachable, and fails with TransientError or InsufficientStorageError when it is not', async () => {
      await store.check();
      const broken = kind.name === 'S3'
        ? new S3BlobStore({
          bucket: s3.bucket, prefix: '', endpoint: 'http://127.0.0.1:1', region: 'us-east-1', pathStyle: true,
          credentials: { accessKeyId: 'x', secretAccessKey: 'y' }, space: new ProcessSpace(join(root, 'local'), 'proc-x'), cacheBytes: 1,
        })
        : new FsBlobStore(join(root, 'no', 'such', 'folder'), 'proc-x');
      try {
        await assert.rejects(broken.check(), (e: unknown) => e instanceof TrawlError && ['TransientError', 'InsufficientStorageError'].includes(e.code));
      } finally {
        broken.close();
      }
    });
  });
}

describe('S3 blob store: the local cache', () => {
  it('stays within its bound once entries are old enough, and fetches evicted blobs again', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trawl-cache-'));
    const opts = {
      bucket: s3.bucket, prefix: 'cache-test/', endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    };
    const writer = new S3BlobStore({ ...opts, space: new ProcessSpace(dir, 'writer'), cacheBytes: 1 << 30 });
    const reader = new S3BlobStore({ ...opts, space: new ProcessSpace(dir, 'reader'), cacheBytes: 250_000, cacheMinAgeMs: 0 });
    try {
      const blobs = [1, 2, 3, 4, 5].map((n) => Buffer.alloc(100_000, n));
      const hashes = [];
      for (const b of blobs) hashes.push(await put(writer, b));
      for (const h of hashes) assert.ok(await reader.localPath(h));
      const cached = await readdir(join(dir, 'p-reader', 'cache'), { recursive: true });
      const files = cached.filter((n) => /[0-9a-f]{64}$/.test(n));
      assert.ok(files.length <= 2, `at most 250,000 bytes cached: ${files.length} blobs of 100,000`);
      assert.deepEqual(await readFile((await reader.localPath(hashes[0]!))!), blobs[0]);
    } finally {
      writer.close();
      reader.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
