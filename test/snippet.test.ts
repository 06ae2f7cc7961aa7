// The notification snippet format of spec 3.5, checked against the examples VirusTotal documents.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { highlightedBytes, snippet } from '../src/hunting/scan/snippet.js';

const B = '*begin_highlight*';
const E = '*end_highlight*';

describe('snippet', () => {
  it('renders the documented notification_snippet (seed hunting_notification_files)', () => {
    // The seed's second line is byte-exact; its first line has the documented shape (a fully
    // highlighted line, markers in both columns) with the hex made consistent with the ASCII.
    const data = Buffer.from('<script language5%69%76%3d%22%72');
    assert.equal(
      snippet(data, [{ offset: 0, length: 16 }]),
      `${B}3C 73 63 72 69 70 74 20 6C 61 6E 67 75 61 67 65${E}  ${B}<script language${E}\n` +
        '35 25 36 39 25 37 36 25 33 64 25 32 32 25 37 32  5%69%76%3d%22%72',
    );
  });

  it('puts the space after a highlighted byte inside the marker, except at end of line (spec 3.5)', () => {
    const data = Buffer.from('ypexInCexxxxxxxi');
    const s = snippet(data, [{ offset: 4, length: 3 }, { offset: 15, length: 1 }])!;
    assert.ok(s.includes(`${B}49 6E 43 ${E}65`), s);
    assert.ok(s.includes(`${B}69${E}  ype`), s);
    assert.equal(s, `79 70 65 78 ${B}49 6E 43 ${E}65 78 78 78 78 78 78 78 ${B}69${E}  ypex${B}InC${E}exxxxxxx${B}i${E}`);
  });

  it('closes a highlight at end of line and reopens it on the next', () => {
    const data = Buffer.from('A'.repeat(14) + 'MATCH' + 'B'.repeat(13));
    assert.equal(
      snippet(data, [{ offset: 14, length: 5 }]),
      `41 41 41 41 41 41 41 41 41 41 41 41 41 41 ${B}4D 41${E}  AAAAAAAAAAAAAA${B}MA${E}\n` +
        `${B}54 43 48 ${E}42 42 42 42 42 42 42 42 42 42 42 42 42  ${B}TCH${E}BBBBBBBBBBBBB`,
    );
  });

  it('shows one line of context before and after, non-printables as dots, the short last line unpadded', () => {
    const data = new Uint8Array(64).map((_, i) => i * 4);
    const s = snippet(data, [{ offset: 40, length: 2 }])!.split('\n');
    assert.equal(s.length, 3);
    assert.equal(s[0], '40 44 48 4C 50 54 58 5C 60 64 68 6C 70 74 78 7C  @DHLPTX\\`dhlptx|');
    assert.equal(s[1], `80 84 88 8C 90 94 98 9C ${B}A0 A4 ${E}A8 AC B0 B4 B8 BC  ........${B}..${E}......`);
    assert.equal(s[2]!.slice(0, 6), 'C0 C4 ');
    const tail = snippet(Buffer.from('0123456789abcdefXYZ'), [{ offset: 17, length: 1 }]);
    assert.equal(tail, `30 31 32 33 34 35 36 37 38 39 61 62 63 64 65 66  0123456789abcdef\n58 ${B}59 ${E}5A  X${B}Y${E}Z`);
  });

  it('handles matches at the start and end of the data', () => {
    const data = Buffer.from('abc');
    assert.equal(snippet(data, [{ offset: 0, length: 3 }]), `${B}61 62 63${E}  ${B}abc${E}`);
    assert.equal(snippet(data, [{ offset: 2, length: 9 }]), `61 62 ${B}63${E}  ab${B}c${E}`, 'clipped to the data');
  });

  it('concatenates separate regions and merges overlapping ones', () => {
    const data = Buffer.alloc(16 * 20, 0x2e);
    const lines = snippet(data, [{ offset: 16 * 2, length: 1 }, { offset: 16 * 10, length: 1 }, { offset: 16 * 11, length: 1 }])!.split('\n');
    assert.equal(lines.length, 3 + 4, 'lines 1-3, then lines 9-12');
    assert.ok(lines[1]!.startsWith(B) && lines[4]!.startsWith(B) && lines[5]!.startsWith(B));
    // Overlapping matches highlight once.
    assert.equal(snippet(Buffer.from('abcdef'), [{ offset: 1, length: 3 }, { offset: 2, length: 3 }]), `61 ${B}62 63 64 65 ${E}66  a${B}bcde${E}f`);
  });

  it('bounds the number of regions and the length', () => {
    const data = Buffer.alloc(16 * 100, 0x41);
    const many = Array.from({ length: 20 }, (_, i) => ({ offset: i * 16 * 5, length: 1 }));
    assert.equal(snippet(data, many)!.split('\n').length, 2 + 4 * 3, 'default 5 regions');
    assert.equal(snippet(data, many, { maxRegions: 2 })!.split('\n').length, 2 + 3);
    const long = snippet(data, [{ offset: 0, length: data.length }], { maxLength: 1000 })!;
    assert.ok(long.length <= 1000, String(long.length));
    assert.ok(long.endsWith(`41${E}  ${B}AAAAAAAAAAAAAAAA${E}`), 'cut at whole lines, markers balanced');
    assert.ok(snippet(data, [{ offset: 0, length: data.length }])!.length <= 4096);
  });

  it('returns null without pattern matches', () => {
    assert.equal(snippet(Buffer.from('abc'), []), null);
    assert.equal(snippet(Buffer.from('abc'), [{ offset: 1, length: 0 }]), null);
    assert.equal(snippet(new Uint8Array(0), [{ offset: 0, length: 1 }]), null);
  });

  it('reads back the longest highlighted run of one line, from the hex column only', () => {
    // A 22-byte match from offset 10 over two lines (6 bytes, then 16 ending in two spaces, which
    // must not be taken for the column separator): the second line's run is the longest.
    const data = Buffer.from('0123456789ABCDEFGHIJKLMNOPQRST  xyz  end');
    const text = snippet(data, [{ offset: 10, length: 22 }])!;
    assert.equal(highlightedBytes(text).toString('latin1'), 'GHIJKLMNOPQRST  ');
    assert.equal(highlightedBytes(snippet(Buffer.from('ab*cd'), [{ offset: 2, length: 1 }])!).toString(), '*');
    assert.equal(highlightedBytes('30 31 32  012').length, 0);
  });
});
