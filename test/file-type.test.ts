// Runs the real analysis pipeline (libmagic + type mapping) on files built here or taken from the
// system, checks VirusTotal's type fields, and checks `magic` against what `file -b` prints.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32, gzipSync } from 'node:zlib';
import { vtFileType } from '../src/analysis/analyzers/file-type.js';
import { analyzeFile } from '../src/analysis/pipeline.js';

const dir = mkdtempSync(join(tmpdir(), 'trawl-file-type-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const u16 = (n: number) => Buffer.from([n & 0xff, n >> 8]);
const u32 = (n: number) => Buffer.from(new Uint32Array([n]).buffer);
const be32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]);

/** A stored (uncompressed) ZIP: local headers, central directory, end record. */
function zip(entries: [name: string, data: string, extra?: Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, text, extra = Buffer.alloc(0)] of entries) {
    const data = Buffer.from(text);
    const n = Buffer.from(name);
    const common = [u16(0), u16(0), u16(0), u16(0), u32(crc32(data)), u32(data.length), u32(data.length), u16(n.length), u16(extra.length)];
    const local = Buffer.concat([u32(0x04034b50), u16(20), ...common, n, extra, data]);
    centrals.push(Buffer.concat([u32(0x02014b50), u16(20), u16(20), ...common, u16(0), u16(0), u16(0), u32(0), u32(offset), n, extra]));
    locals.push(local);
    offset += local.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.concat([u32(0x06054b50), u16(0), u16(0), u16(entries.length), u16(entries.length), u32(cd.length), u32(offset), u16(0)]);
  return Buffer.concat([...locals, cd, eocd]);
}

/** A header-only PE image: enough for libmagic to tell PE32/PE32+, DLL and .NET apart. */
function pe(opts: { plus?: boolean; dll?: boolean; dotnet?: boolean }): Buffer {
  const b = Buffer.alloc(1024);
  b.write('MZ', 0, 'latin1');
  b.writeUInt32LE(0x40, 0x3c);
  b.write('PE\0\0', 0x40, 'latin1');
  const characteristics = 0x0002 | (opts.dll ? 0x2000 : 0) | (opts.plus ? 0 : 0x0100);
  b.writeUInt16LE(opts.plus ? 0x8664 : 0x14c, 0x44);
  b.writeUInt16LE(1, 0x46);
  b.writeUInt16LE(opts.plus ? 0xf0 : 0xe0, 0x54);
  b.writeUInt16LE(characteristics, 0x56);
  b.writeUInt16LE(opts.plus ? 0x20b : 0x10b, 0x58);
  b.writeUInt16LE(2, 0x58 + 68); // subsystem: GUI
  const rvaCount = 0x58 + (opts.plus ? 108 : 92);
  b.writeUInt32LE(16, rvaCount);
  if (opts.dotnet) b.writeUInt32LE(0x2008, rvaCount + 4 + 14 * 8); // the CLR header directory
  return b;
}

/** A POSIX (ustar) tar header for one empty file, with a valid checksum. */
function tar(): Buffer {
  const h = Buffer.alloc(1024);
  h.write('hello.txt', 0);
  h.write('0000644\0', 100);
  h.write('00000000000\0', 124);
  h.write('ustar\x0000', 257, 'latin1');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

const ihdr = Buffer.concat([Buffer.from('IHDR'), be32(1), be32(1), Buffer.from([8, 6, 0, 0, 0])]);
const png = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), be32(13), ihdr, be32(crc32(ihdr))]);
// Deterministic "random" bytes, so a chance match of some magic pattern cannot make this flaky.
const noise = Buffer.concat(Array.from({ length: 128 }, (_, i) => createHash('sha256').update(`n${i}`).digest()));
const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

type Expect = [description: string, tag: string, typeTags: string, extension: string, tags?: string];
const cases: [name: string, content: Buffer | string, expect: Expect][] = [
  ['win32.exe', pe({}), ['Win32 EXE', 'peexe', 'executable windows win32 pe peexe', 'exe']],
  ['win32.dll', pe({ dll: true }), ['Win32 DLL', 'pedll', 'executable windows win32 pe pedll', 'dll']],
  ['win64.exe', pe({ plus: true }), ['Win64 EXE', 'peexe', 'executable windows win64 pe peexe', 'exe', 'peexe 64bits']],
  ['win64.dll', pe({ plus: true, dll: true }), ['Win64 DLL', 'pedll', 'executable windows win64 pe pedll', 'dll', 'pedll 64bits']],
  ['dotnet.exe', pe({ dotnet: true }), ['Win32 EXE', 'peexe', 'executable windows win32 pe peexe', 'exe', 'peexe assembly']],
  ['macho', hex('cffaedfe 07000001 03000000 02000000 00000000 00000000 00000000 00000000'), ['Mach-O', 'macho', 'executable mac macho', 'macho', 'macho 64bits']],
  ['Hello.class', hex('cafebabe 00000034 0010'), ['Java Bytecode', 'class', 'executable java class', 'class']],
  ['a.zip', zip([['hello.txt', 'hello\n']]), ['ZIP', 'zip', 'compressed zip', 'zip']],
  ['a.docx', zip([['[Content_Types].xml', '<Types/>'], ['_rels/.rels', '<Relationships/>'], ['word/document.xml', '<w:document/>']]), ['Office Open XML Document', 'docx', 'msoffice docx', 'docx']],
  ['a.jar', zip([['META-INF/', '', hex('feca0000')], ['META-INF/MANIFEST.MF', 'Manifest-Version: 1.0\n']]), ['JAR', 'jar', 'executable java jar', 'jar']],
  ['a.gz', gzipSync('hello\n'), ['GZIP', 'gzip', 'compressed gzip', 'gz']],
  ['a.bz2', Buffer.from('BZh91AY&SY\0\0\0\0\0\0', 'latin1'), ['BZIP2', 'bzip', 'compressed bzip', 'bz2']],
  ['a.xz', hex('fd377a585a00 0004 e6d6b446'), ['XZ', 'xz', 'compressed xz', 'xz']],
  ['a.7z', hex('377abcaf271c 0004 00000000 00000000 00000000 00000000'), ['7ZIP', '7zip', 'compressed 7zip', '7z']],
  ['a.rar', hex('526172211a0700 cf907300000d00000000000000'), ['RAR', 'rar', 'compressed rar', 'rar']],
  ['a.tar', tar(), ['TAR', 'tar', 'compressed tar', 'tar']],
  ['a.png', png, ['PNG', 'png', 'image png', 'png']],
  ['a.jpg', hex('ffd8ffe0 0010 4a46494600 0101 0000 0100 0100 00 ffd9'), ['JPEG', 'jpeg', 'image jpeg', 'jpg']],
  ['a.gif', Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), ['GIF', 'gif', 'image gif', 'gif']],
  ['a.pdf', '%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n', ['PDF', 'pdf', 'pdf', 'pdf']],
  ['a.sh', '#!/bin/sh\necho hello\n', ['Shell script', 'shell', 'source shell', 'sh']],
  ['a.py', '#!/usr/bin/env python3\nprint("hello")\n', ['Python', 'python', 'source python', 'py']],
  ['a.pl', '#!/usr/bin/perl\nprint "hello\\n";\n', ['Perl', 'perl', 'source perl', 'pl']],
  ['a.php', '<?php echo "hello"; ?>\n', ['PHP', 'php', 'source php', 'php']],
  ['a.js', '#!/usr/bin/env node\nconsole.log(1);\n', ['JavaScript', 'javascript', 'source javascript', 'js']],
  ['a.html', '<!DOCTYPE html>\n<html><head><title>x</title></head><body>hi</body></html>\n', ['HTML', 'html', 'internet html', 'html']],
  ['a.xml', '<?xml version="1.0"?>\n<root><a>1</a></root>\n', ['XML', 'xml', 'text xml', 'xml']],
  ['a.json', '{"name": "trawl", "list": [1, 2, 3], "nested": {"ok": true}}\n', ['JSON', 'json', 'text json', 'json']],
  ['a.txt', 'Just some plain words in a plain text file.\n', ['Text', 'text', 'text', 'txt']],
  ['empty', '', ['Empty file', 'empty', '', '', 'empty']],
  ['noise', noise, ['unknown', 'unknown', '', '', '']],
];

const split = (s: string) => (s === '' ? [] : s.split(' '));
const hasFile = (() => {
  try {
    execFileSync('file', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

function check(path: string, [description, tag, typeTags, extension, tags = tag]: Expect): void {
  const got = analyzeFile(path);
  assert.deepEqual(
    [got.typeDescription, got.typeTag, got.typeTags, got.typeExtension, got.tags],
    [description, tag, split(typeTags), extension, split(tags)],
    `${path}: magic "${got.magic}"`,
  );
  if (hasFile) assert.equal(got.magic, execFileSync('file', ['-b', path]).toString().trimEnd());
}

for (const [name, content, expect] of cases) {
  test(`${name} is ${expect[0]}`, () => {
    const path = join(dir, name);
    writeFileSync(path, content);
    check(path, expect);
  });
}

test('a system ELF executable (node itself) is ELF', () => {
  check(process.execPath, ['ELF', 'elf', 'executable linux elf', 'elf', 'elf 64bits']);
});

test('a system shared library is an ELF shared library', (t) => {
  const lib = ['/usr/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6'].find(existsSync);
  if (!lib) return t.skip('no x86-64 glibc at the usual path');
  check(lib, ['ELF shared library', 'elf', 'executable linux elf', 'so', 'elf 64bits']);
});

test('magic is compared with file(1)', (t) => {
  if (!hasFile) t.skip('file(1) is not installed: the magic == `file -b` assertions were skipped');
});

test('unrecognised magic strings keep a short description; setuid prefixes are ignored', () => {
  assert.equal(vtFileType('Compiled terminfo entry "xterm"', 'application/octet-stream').typeDescription, 'Compiled terminfo entry');
  const catalog = vtFileType('GNU message catalog (little endian), revision 0.0, 1 message', 'application/octet-stream');
  assert.deepEqual(catalog, { typeDescription: 'GNU message catalog', typeTag: 'unknown', typeTags: [], typeExtension: '', tags: [] });
  assert.equal(vtFileType('setuid ELF 64-bit LSB pie executable, x86-64', 'application/x-pie-executable').typeDescription, 'ELF');
  assert.equal(vtFileType('Composite Document File V2 Document, Little Endian', 'application/msword').typeTag, 'doc');
});
