// Entry names that collide on disk must not stop unpacking (an attacker would put the payload after
// them): a file then a folder of the same name (`a`, then `a/b`), the reverse, the same name twice,
// and names differing only in case. Every entry's content must come out, through every format
// whose writer can express the collision, and no error may show the server's paths.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractFile, withoutServerPaths } from '../src/extraction/extract-file.js';
import { makeArchive, makeTar } from './helpers/archives.js';
import { makeAr, makeCab, makeCpio, makeEml, makeRar4, makeRar5, makeStoredZip, type Files } from './helpers/archive-writers.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const tag = (s: string) => `${s} ${randomBytes(8).toString('hex')}\n`;

let root: string;
before(() => {
  root = mkdtempSync(join(tmpdir(), 'trawl-conflicts-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

type Pairs = [string, string][];

/** The collisions, as [name, content] lists; a format takes those its writer can express. */
const CASES: Record<string, Pairs> = {
  'a file, then a folder of that name': [['a', tag('file a')], ['a/b', tag('file a/b')], ['a/c/d', tag('file a/c/d')], ['payload.txt', tag('payload')]],
  'a folder, then a file of that name': [['x/y', tag('file x/y')], ['x', tag('file x')], ['payload.txt', tag('payload')]],
  'the same name twice': [['dup.txt', tag('first')], ['dup.txt', tag('second')], ['payload.txt', tag('payload')]],
  'names differing only in case': [['Case.txt', tag('upper')], ['case.txt', tag('lower')], ['CASE.TXT', tag('all upper')]],
};

interface Format {
  name: string;
  file: string;
  make(pairs: Pairs): Buffer | Promise<Buffer>;
  /** Which cases the writer can express. */
  cases: string[];
  mime?: string;
  /** Entries it makes besides the files (an e-mail's text body). */
  extra?: number;
}

const ALL = Object.keys(CASES);
const FLAT = ['the same name twice', 'names differing only in case'];
const asFiles = (pairs: Pairs): Files => pairs;

const FORMATS: Format[] = [
  { name: 'zip', file: 'c.zip', make: (p) => makeStoredZip(p.map(([name, content]) => ({ name, content }))), cases: ALL },
  { name: 'tar', file: 'c.tar', make: (p) => makeTar(p.map(([name, content]) => ({ name, content }))), cases: ALL },
  { name: 'cpio', file: 'c.cpio', make: (p) => makeCpio(asFiles(p)), cases: ALL },
  { name: 'ar', file: 'c.a', make: (p) => makeAr(asFiles(p)), cases: FLAT },
  { name: 'rar5', file: 'c.rar', make: (p) => makeRar5(asFiles(p)), cases: ALL },
  { name: 'rar4', file: 'c.rar', make: (p) => makeRar4(asFiles(p)), cases: ALL },
  { name: 'cab', file: 'c.cab', make: (p) => makeCab(asFiles(p)), cases: ALL },
  { name: '7z', file: 'c.7z', make: (p) => makeArchive('7z', Object.fromEntries(p)), cases: ['names differing only in case'] },
  {
    name: 'e-mail', file: 'c.eml', mime: 'message/rfc822', cases: FLAT, extra: 1,
    make: (p) => makeEml({ text: 'see attached', attachments: p.map(([filename, content]) => ({ filename, content: Buffer.from(content), contentType: 'application/octet-stream' })) }),
  },
];

describe('extracting entries whose names collide on disk', () => {
  for (const f of FORMATS) {
    for (const c of f.cases) {
      it(`${f.name}: ${c}: every entry comes out`, async () => {
        const pairs = CASES[c]!;
        const dir = mkdtempSync(join(root, 'case-'));
        const path = join(dir, f.file);
        const input = await f.make(pairs);
        writeFileSync(path, input);
        const outDir = join(dir, 'out');
        const r = await extractFile(path, { magic: '', mime: f.mime ?? '', size: input.length }, {
          outDir,
          caps: { maxFiles: 1000, maxBytes: 64 * 1024 * 1024, bytesLimit: 'bytes', deadline: Date.now() + 60_000 },
          passwords: [],
        });
        assert.ok(r, 'taken as a container');
        const got = new Set(r.entries.map((e) => e.sha256));
        for (const [name, content] of pairs) assert.ok(got.has(sha256(content)), `${name} came out (${JSON.stringify(r.entries.map((e) => e.name))}, error: ${r.error})`);
        assert.equal(r.entries.length, pairs.length + (f.extra ?? 0), JSON.stringify(r.entries.map((e) => e.name)));
        assert.ok(!(r.error ?? '').includes(root), `the error shows no server path: ${r.error}`);
      });
    }
  }
});

describe('bundle errors', () => {
  it('never show the server\'s paths', () => {
    const outDir = '/srv/trawl/blobs/tmp/x-0123/1';
    const message = `EEXIST: file already exists, mkdir '${outDir}/a/b'; cannot read /srv/trawl/blobs/ab/abcdef: no such file; at ${outDir}`;
    const clean = withoutServerPaths(message, outDir, '/srv/trawl/blobs/ab/abcdef');
    assert.equal(clean, "EEXIST: file already exists, mkdir 'a/b'; cannot read abcdef: no such file; at .");
  });
});
