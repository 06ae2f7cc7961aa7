// The mechanics of a Retrohunt job's scans (jobs/retrohunt-scans.ts): how a batch of the walk is
// cut into tasks and into records, and which tasks count as heavy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextGroup, recordParts, ScanPace } from '../src/jobs/retrohunt-scans.js';
import type { FileRecord } from '../src/store/store.js';

const MB = 1024 * 1024;
const file = (i: number, size: number): FileRecord => ({
  sha256: i.toString(16).padStart(64, '0'), sha1: '', md5: '', size, names: [], firstSubmissionDate: 0, lastSubmissionDate: 0,
  timesSubmitted: 1, uniqueSources: 1, revision: 0,
});

test('a batch of small files is recorded whole, its cursor the walk\'s', () => {
  const files = Array.from({ length: 1000 }, (_, i) => file(i, 16 * 1024));
  const parts = recordParts(files, 'f'.repeat(64));
  assert.equal(parts.length, 1);
  assert.equal(parts[0]!.files.length, 1000);
  assert.equal(parts[0]!.last, 'f'.repeat(64), 'a filtered batch ends at the walk\'s cursor, past its last file');
});

test('a batch of large files is recorded every 256 MB, in order, every file in one part', () => {
  const files = Array.from({ length: 100 }, (_, i) => file(i, 10 * MB));
  const parts = recordParts(files, files[99]!.sha256);
  assert.deepEqual(parts.map((p) => p.files.length), [26, 26, 26, 22]);
  assert.deepEqual(parts.flatMap((p) => p.files), files);
  for (const p of parts) assert.equal(p.last, p.files[p.files.length - 1]!.sha256);
  // A file larger than a part is a part of its own; the batch's last part is never empty.
  const huge = recordParts([file(1, 300 * MB), file(2, 300 * MB)], 'e'.repeat(64));
  assert.deepEqual(huge.map((p) => [p.files.length, p.last]), [[1, file(1, 0).sha256], [1, 'e'.repeat(64)]]);
});

test('small files go to a thread many at a time, a large file alone', () => {
  const files = [file(0, 1 * MB), ...Array.from({ length: 100 }, (_, i) => file(i + 1, 1024)), file(200, 1000 * 1024)];
  assert.equal(nextGroup(files, 0).length, 1, 'a 1 MB file fills a task');
  assert.equal(nextGroup(files, 1).length, 64, 'at most 64 files a task');
  assert.equal(nextGroup(files, 65).length, 36, 'up to 1 MB a task: the 1,000 KB file does not fit');
});

test('a task is heavy by the job\'s own pace once measured, by the probe\'s before', () => {
  const pace = new ScanPace(400); // the probe: 400 MB/s, so real files at 200 MB/s: 100 ms is 20 MB
  assert.equal(pace.heavy(10 * MB), false);
  assert.equal(pace.heavy(30 * MB), true);
  pace.add(4 * MB, [{ ms: 400 }]); // this job: 10 MB/s, so 100 ms is 1 MB
  assert.equal(pace.heavy(2 * MB), true);
  pace.add(32 * 1024, [{ ms: 1000 }]); // small files tell the scan's fixed cost, not the pace: left out
  assert.equal(pace.heavy(MB / 2), false);
  assert.equal(new ScanPace(0).heavy(512 * 1024), false, 'unknown pace: files from 1 MB are heavy');
  assert.equal(new ScanPace(0).heavy(MB), true);
});
