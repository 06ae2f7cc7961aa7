// The Store contract: ZIP files (intelligence/zip_files) and their durable `zip-file` jobs. Run
// against every implementation (test/helpers/store-contract.ts).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ZIP_FILE_JOB_KIND, ZIP_FILE_LANE } from '../src/model/zip-file.js';
import { hashes, storeContract, submission } from './helpers/store-contract.js';

const T0 = 1_700_000_000;

storeContract('ZIP files', ({ fresh }) => {
  it('creates a ZIP file `starting` with its job, records progress, and ends it forgetting the password', async () => {
    const s = await fresh();
    const z = await s.createZipFile({ ownerId: 7, hashes: ['a'.repeat(64), 'b'.repeat(32)], password: 'infected', creationDate: T0 });
    assert.match(z.id, /^\d{18}$/);
    assert.deepEqual({ ...z, id: '' }, {
      id: '', ownerId: 7, hashes: ['a'.repeat(64), 'b'.repeat(32)], password: 'infected', encrypted: true, status: 'starting', progress: 0,
      filesOk: 0, filesError: 0, creationDate: T0, finishDate: null, blob: null, size: null, error: null,
    });
    const [job, ...more] = await s.claimJobs('w', 10, 60_000);
    assert.deepEqual(more, []);
    assert.deepEqual([job!.kind, job!.lane, job!.payload], [ZIP_FILE_JOB_KIND, ZIP_FILE_LANE, { zipFileId: z.id }]);

    await s.recordZipFileProgress(z.id, { progress: 33.4, filesOk: 1, filesError: 1 });
    assert.deepEqual(await s.getZipFile(z.id), { ...z, status: 'creating', progress: 33, filesOk: 1, filesError: 1 });

    await s.finishZipFile(z.id, job!.id, { status: 'finished', blob: 'c'.repeat(64), size: 1234, filesOk: 1, filesError: 1 }, T0 + 5);
    const done = await s.getZipFile(z.id);
    assert.deepEqual(done, { ...z, password: null, status: 'finished', progress: 100, filesOk: 1, filesError: 1, finishDate: T0 + 5, blob: 'c'.repeat(64), size: 1234 });
    assert.equal(await s.pendingJobs(), 0, 'the job went with the transaction that ended it');
    // Progress arriving late (a run that lost its lease) does not undo the end.
    await s.recordZipFileProgress(z.id, { progress: 50, filesOk: 0, filesError: 0 });
    assert.deepEqual(await s.getZipFile(z.id), done);
  });

  it('keeps a ZIP file without a password unencrypted, and one that failed with why', async () => {
    const s = await fresh();
    const z = await s.createZipFile({ ownerId: 1, hashes: ['d'.repeat(40)], password: null, creationDate: T0 });
    assert.equal(z.encrypted, false);
    const [job] = await s.claimJobs('w', 10, 60_000);
    await s.finishZipFile(z.id, job!.id, { status: 'error-creating', error: 'none stored', filesOk: 0, filesError: 1 }, T0 + 1);
    const failed = await s.getZipFile(z.id);
    assert.equal(failed!.status, 'error-creating');
    assert.equal(failed!.error, 'none stored');
    assert.equal(failed!.progress, 0);
    assert.equal(failed!.blob, null);
    assert.equal(await s.getZipFile('999'), null);
  });

  it('lists ZIP files that ended before a date, and gives back a blob to remove only when nothing else holds it', async () => {
    const s = await fresh();
    await s.addSubmission(submission('a stored file'));
    const stored = hashes('a stored file');
    const make = async (blob: string, finished: number) => {
      const z = await s.createZipFile({ ownerId: 1, hashes: [hashes('x').sha256], password: null, creationDate: T0 });
      // The submission's analysis is queued too: take this ZIP file's job.
      const job = (await s.claimJobs('w', 10, 60_000)).find((j) => j.payload.zipFileId === z.id);
      await s.finishZipFile(z.id, job!.id, { status: 'finished', blob, size: 1, filesOk: 1, filesError: 0 }, finished);
      return z.id;
    };
    const old = await make('e'.repeat(64), T0);
    const twin = await make('e'.repeat(64), T0 + 10);
    const likeAFile = await make(stored.sha256, T0 + 20);
    const recent = await make('f'.repeat(64), T0 + 1000);
    assert.deepEqual((await s.listEndedZipFiles(T0 + 100, 10)).map((z) => z.id), [old, twin, likeAFile]);
    assert.deepEqual((await s.listEndedZipFiles(T0 + 100, 1)).map((z) => z.id), [old]);
    // Two ZIP files of the same bytes share a blob: the first removed leaves it to the second.
    assert.equal(await s.deleteZipFile(old), null);
    assert.equal(await s.deleteZipFile(twin), 'e'.repeat(64));
    // A blob that is also a stored file's content is never given back.
    assert.equal(await s.deleteZipFile(likeAFile), null);
    assert.equal(await s.deleteZipFile(old), null, 'gone already');
    assert.deepEqual((await s.listEndedZipFiles(T0 + 2000, 10)).map((z) => z.id), [recent]);
  });
});
