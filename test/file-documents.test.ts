// The cache of serialized files that pages of notifications use (stream/file-documents.ts), on a real
// SQLite database written through a second store, as another process would: files are read once
// while unchanged, every change shows on the next page, and a read that a change overtakes is not
// kept over the newer file.
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FileDocuments } from '../src/stream/file-documents.js';
import { openStore } from '../src/store/open-store.js';
import type { FileRecord, NewSubmission, Store } from '../src/store/store.js';
import { streamSerializer } from '../src/api/stream-serializer.js';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

function submission(content: string, name: string): NewSubmission {
  const h = (alg: string) => createHash(alg).update(content).digest('hex');
  return {
    analysisId: randomUUID(), sha256: h('sha256'), sha1: h('sha1'), md5: h('md5'), size: content.length, userId: 1,
    date: 1_700_000_000, name, sourceKey: 'k', sourceCountry: 'DE', password: null,
  };
}

/** `store` whose getFiles calls are counted, and held after reading while `hold` is set. */
function watched(store: Store) {
  const w = {
    reads: 0,
    hold: null as Promise<void> | null,
    store: new Proxy(store, {
      get: (target, prop, receiver) => prop !== 'getFiles' ? Reflect.get(target, prop, receiver) : async (shas: string[]): Promise<FileRecord[]> => {
        w.reads++;
        const files = await target.getFiles(shas);
        const hold = w.hold;
        if (hold) await hold;
        return files;
      },
    }),
  };
  return w;
}

describe('FileDocuments', () => {
  let dir: string;
  let reader: Store;
  let writer: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trawl-docs-'));
    const url = `sqlite:${join(dir, 'db.sqlite')}`;
    writer = await openStore(url);
    reader = await openStore(url, { readOnly: true, writerThread: false });
  });
  after(async () => {
    await reader.close();
    await writer.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const names = (json: string | undefined) => (JSON.parse(json!) as { names: string[] }).names;

  it('reads a file once while it is unchanged, again after each change, and leaves out files never stored', async () => {
    const w = watched(reader);
    const docs = new FileDocuments(w.store, streamSerializer);
    await writer.addSubmission(submission('one', 'first.bin'));
    const never = sha256('never stored');
    let got = await docs.attributes([sha256('one'), never, sha256('one')]);
    assert.deepEqual([...got.keys()], [sha256('one')]);
    assert.deepEqual(names(got.get(sha256('one'))), ['first.bin']);
    assert.equal(w.reads, 1);
    await docs.attributes([sha256('one'), never]);
    assert.equal(w.reads, 1, 'kept, also that a file was never stored');
    await writer.addSubmission(submission('one', 'second.bin'));
    await writer.addSubmission(submission('never stored', 'late.bin'));
    got = await docs.attributes([sha256('one'), never]);
    assert.deepEqual(names(got.get(sha256('one'))), ['first.bin', 'second.bin']);
    assert.deepEqual(names(got.get(never)), ['late.bin']);
    assert.equal(w.reads, 2);
  });

  it('does not keep a read that a change overtook', async () => {
    const w = watched(reader);
    const docs = new FileDocuments(w.store, streamSerializer);
    /** Reads `content`'s file while it changes: the read returns what it saw before the change. */
    const overtaken = async (content: string, meanwhile: () => Promise<void>) => {
      let release!: () => void;
      w.hold = new Promise((r) => { release = r; });
      const slow = docs.attributes([sha256(content)]);
      const reads = w.reads;
      while (w.reads === reads) await new Promise((r) => setImmediate(r));
      w.hold = null;
      await writer.addSubmission(submission(content, 'new.bin'));
      await meanwhile();
      release();
      assert.deepEqual(names((await slow).get(sha256(content))), ['old.bin'], 'served as read: the page was asked before the change');
    };
    await writer.addSubmission(submission('two', 'old.bin'));
    await writer.addSubmission(submission('three', 'old.bin'));
    await docs.attributes([]);
    // The feed names the change while the read is in flight, and nothing reads the file meanwhile.
    await overtaken('two', () => docs.fresh());
    assert.deepEqual(names((await docs.attributes([sha256('two')])).get(sha256('two'))), ['old.bin', 'new.bin']);
    // A page after the change reads the new file first; the old read must not replace it.
    await overtaken('three', async () => {
      assert.deepEqual(names((await docs.attributes([sha256('three')])).get(sha256('three'))), ['old.bin', 'new.bin']);
    });
    const reads = w.reads;
    assert.deepEqual(names((await docs.attributes([sha256('three')])).get(sha256('three'))), ['old.bin', 'new.bin']);
    assert.equal(w.reads, reads, 'the newer file stayed kept');
  });

  it('fails the pages whose poll failed, without an unhandled rejection while they do other work', async () => {
    const failing = new Proxy(reader, {
      get: (target, prop, receiver) => prop !== 'fileChangesSince' ? Reflect.get(target, prop, receiver)
        : async () => { throw new Error('database gone'); },
    });
    const docs = new FileDocuments(failing, streamSerializer);
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      const synced = docs.fresh();
      const waiting = docs.fresh();
      await new Promise((r) => setTimeout(r, 20));
      await assert.rejects(docs.attributes([sha256('one')], synced), /database gone/);
      await assert.rejects(waiting, /database gone/);
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('shares one poll of the feed among the pages waiting for it, and polls after each page asks', async () => {
    let polls = 0;
    const counted = new Proxy(reader, {
      get: (target, prop, receiver) => prop !== 'fileChangesSince' ? Reflect.get(target, prop, receiver)
        : (cursor: string | null, max: number) => { polls++; return target.fileChangesSince(cursor, max); },
    });
    const docs = new FileDocuments(counted, streamSerializer);
    await Promise.all(Array.from({ length: 20 }, () => docs.attributes([sha256('one')])));
    assert.ok(polls <= 2, `${polls} polls for 20 pages at once`);
    await writer.addSubmission(submission('one', 'third.bin'));
    assert.deepEqual(names((await docs.attributes([sha256('one')])).get(sha256('one'))), ['first.bin', 'second.bin', 'third.bin']);
  });
});
