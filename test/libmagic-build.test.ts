// Trawl's build of libmagic (native/libmagic) must give the answers Debian's `file` gives, word
// for word, on thousands of real files: it skips work in two tests (search, regex) only where
// the outcome is known. The files: a spread of this machine's own (/usr, /etc), man pages
// unpacked from their gzip files (text, where both speed-ups act), and documents made to hit
// the skipped paths (HTML/SGML/SVG headers in any case and spacing, tab-separated lines, scripts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { Libmagic, SYSTEM_LIBMAGIC, bundledLibmagic } from '../src/analysis/analyzers/libmagic.js';

const dir = mkdtempSync(join(tmpdir(), 'trawl-libmagic-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Every `step`-th regular file under `root`, in a stable order, at most `limit`. */
function sample(root: string, step: number, limit: number, out: string[] = []): string[] {
  let seen = 0;
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const name of names) {
      if (out.length >= limit) return;
      const path = join(d, name);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (!st) continue;
      if (st.isDirectory()) walk(path);
      else if (st.isFile() && st.size <= 4 << 20 && seen++ % step === 0) out.push(path);
    }
  };
  walk(root);
  return out;
}

/** Man pages unpacked from /usr/share/man: the text-heavy case. */
function manPages(limit: number): string[] {
  const out: string[] = [];
  mkdirSync(join(dir, 'man'));
  for (const gz of sample('/usr/share/man', 3, limit)) {
    if (!gz.endsWith('.gz')) continue;
    const path = join(dir, 'man', `${out.length}`);
    try {
      writeFileSync(path, gunzipSync(readFileSync(gz)));
      out.push(path);
    } catch {
      // not a gzip file after all
    }
  }
  return out;
}

/** Documents that reach the paths the speed-ups take, matching and not. */
function madeFiles(): string[] {
  const docs: Record<string, string> = {
    'html-upper': '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN">\n<HTML><HEAD><TITLE>x</TITLE></HEAD></HTML>\n',
    'html-mixed': '\n\n   <!DoCtYpE   hTmL>\n<hTmL>\n<BODY>hi</BODY>\n',
    'html-late': `${'x'.repeat(3000)}\n<html>\n<head>\n<title>late</title>\n`,
    'html-too-late': `${'y<'.repeat(2500)}\n<html><head><title>too late</title>\n`,
    'svg': '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg xmlns="http://www.w3.org/2000/svg"/>\n',
    'svg-spaced': '<?xml version="1.0"?>\n<!doctype    SVG>\n<svg/>\n',
    'script-tags': 'var a = 1;\n<script>\nalert(1)\n</script>\n<a href="x">y</a>\n',
    'lt-noise': '<<<<<< <h <he <hea <head < head>\n<st <sty <styl\n',
    'tsv': `${Array.from({ length: 20 }, (_, i) => Array.from({ length: 12 }, (_, j) => `c${i}x${j}`).join('\t')).join('\n')}\n`,
    'tsv-short': 'a\tb\tc\nd\te\tf\n',
    'ruby': '#!/usr/bin/env ruby\nmodule Foo\n  class Bar < Baz\n    def x; end\n  end\nend\n',
    'ruby-like': 'class  lower\nmodule\tX\nklass Y\n',
    'sisu': '% SiSU text 2.0\n\n:title: A\n',
    'groff': '.TH FOO 1\n.SH NAME\nfoo \\- bar\n.SH DESCRIPTION\n',
    'python': 'import os\n\ndef main():\n    print("x")\n\nif __name__ == "__main__":\n    main()\n',
    'latin1': 'caf\xe9 <HTML> \xc9T\xc9\n<head>\n',
    'binary-lt': '\u0000\u0001<html>\u0000<head>\u0002\u0003',
    // Case-insensitive tests starting with a letter (search/c) and case-insensitive regexes.
    'sgf': '(;GM[1]FF[4]SZ[19]PB[a]PW[b];B[pd];W[dp])\n',
    'sgf-lower': '(;gm[1]ff[4]sz[19];b[pd])\n',
    'sgf-offset': '\r\n(;Gm[6]Ff[4])\n',
    'miff': 'id=ImageMagick  version=1.0\nclass=DirectClass colors=0\ncolumns=1 rows=1\n\f\n:\u001a',
    'miff-upper': 'ID=IMAGEMAGICK\nclass=PseudoClass\n:\u001a',
    'inform': '! comment\nConstant Story "x";\nConstant Headline "y";\n',
    'inform-spaced': 'CONSTANT    STORY "x";\n',
    'inf': '[Version]\r\nSignature="$Windows NT$"\r\nClass=Net\r\n',
    'inf-upper': '[VERSION]\r\nSIGNATURE="$CHICAGO$"\r\n',
    'desktop-ini': '[.ShellClassInfo]\r\nIconResource=C:\\x.dll,0\r\n',
    'boot-ini': '[boot loader]\r\ntimeout=30\r\ndefault=multi(0)\r\n',
    'win-ini': '[WINDOWS]\r\nload=\r\nrun=\r\n',
    'system-ini': '[386Enh]\r\nwoafont=dosapp.fon\r\n',
    'config-sys': '[Menu]\r\nmenuitem=A\r\n',
    'rexx': `/* ${'r'.repeat(100)} */\r\n  CALL RxFuncAdd 'SysLoadFuncs'\r\n`,
  };
  mkdirSync(join(dir, 'made'));
  return Object.entries(docs).map(([name, text]) => {
    const path = join(dir, 'made', name);
    writeFileSync(path, Buffer.from(text, 'latin1'));
    return path;
  });
}

/** `file -b [--mime-type]` over every path, one process per answer kind. */
function fileAnswers(paths: string[], mime: boolean): string[] {
  const list = join(dir, mime ? 'list-mime' : 'list');
  writeFileSync(list, `${paths.join('\n')}\n`);
  const args = ['-b', '-r', ...(mime ? ['--mime-type'] : []), '-f', list];
  const out = execFileSync('file', args, { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } }).toString();
  return out.split('\n').slice(0, paths.length);
}

test("Trawl's libmagic is built and is the one analyses use", () => {
  const built = bundledLibmagic();
  assert.ok(built, 'native/libmagic/build/libmagic-trawl.so is missing: scripts/install-deps.sh builds it');
  const magic = new Libmagic();
  try {
    assert.equal(magic.library, built);
  } finally {
    magic.close();
  }
});

test("Trawl's libmagic gives `file`'s description and MIME type on thousands of real files", (t) => {
  const paths = [
    ...sample('/usr/share', 7, 1800),
    ...sample('/usr/lib', 41, 700),
    ...sample('/usr/bin', 3, 300),
    ...sample('/etc', 2, 300),
    ...manPages(600),
    ...madeFiles(),
  ];
  t.diagnostic(`${paths.length} files`);
  assert.ok(paths.length >= 2000, `only ${paths.length} files found to compare`);
  const describe = fileAnswers(paths, false);
  const mime = fileAnswers(paths, true);
  const ours = new Libmagic();
  const wrong: string[] = [];
  try {
    assert.notEqual(ours.library, SYSTEM_LIBMAGIC);
    paths.forEach((path, i) => {
      // `file -r` prints the description raw, as the library returns it.
      const got = ours.describe(path);
      const gotMime = ours.mime(path);
      if (got !== describe[i]) wrong.push(`${path}: description ${JSON.stringify(got)} != file's ${JSON.stringify(describe[i])}`);
      if (gotMime !== mime[i]) wrong.push(`${path}: MIME ${gotMime} != file's ${mime[i]}`);
    });
  } finally {
    ours.close();
  }
  assert.deepEqual(wrong, []);
});
