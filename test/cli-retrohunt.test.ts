// `trawl retrohunt ...` against a real service: start (from a file or standard input) with --wait
// and its progress, list, get, abort, delete, matches (following cursors), --json, and errors.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main } from '../src/cli/main.js';
import { retrohuntCommand } from '../src/cli/retrohunt.js';
import { makeZip } from './helpers/archives.js';
import { api, fileForm, newUser, pollUntil, runCli, startTestService, waitForAnalysis, type TestService } from './helpers/service.js';

const bin = fileURLToPath(new URL('../../bin/trawl.js', import.meta.url));
const sha256 = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');
const MARK = 'CLI_RETRO_MARK_e41d';
const RULES = `rule cli_mark { strings: $a = "${MARK}" condition: $a }`;

/** A writable that keeps what it gets, optionally claiming to be a terminal. */
function capture(tty = false) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean; text: string };
  s.text = '';
  s.on('data', (c) => (s.text += c));
  if (tty) s.isTTY = true;
  return s;
}

describe('trawl retrohunt', () => {
  let s: TestService;
  let key: string;
  let rulesFile: string;
  /** sha256 -> whether it is known only as a zip member. */
  const expected = new Map<string, boolean>();

  const trawl = (...args: string[]) => runCli([...args, '--url', s.url, '--apikey', key]);
  const upload = async (content: Buffer | string, name: string) => {
    const r = await api(s.url, key, 'POST', '/api/v3/files', fileForm(content, name));
    await waitForAnalysis(s.url, key, r.body.data.id, 30_000);
  };

  before(async () => {
    s = await startTestService();
    key = await newUser(s, 'erin');
    rulesFile = join(s.dir, 'rules.yar');
    await writeFile(rulesFile, RULES);
    for (const c of [`one ${MARK}`, `two ${MARK}`]) {
      await upload(c, 'f.txt');
      expected.set(sha256(c), false);
    }
    await upload('no mark here', 'g.txt');
    const member = `member ${MARK}`;
    await upload(makeZip({ 'in/zip.txt': member }), 'z.zip');
    expected.set(sha256(member), true);
  });
  after(() => s?.stop());

  it('start --wait draws its progress on a terminal, then prints the job and its matches', async () => {
    const out = capture();
    const err = capture(true);
    const code = await main(['retrohunt', 'start', rulesFile, '--wait', '--email', 'erin@example.org', '--time-range', '2000-01-01..', '--url', s.url, '--apikey', key], out, err);
    assert.equal(code, 0, err.text);
    const [head, ...lines] = out.text.trim().split('\n');
    const id = /^retrohunt job (erin-\d+) finished +100\.0 % .* 3 matches$/.exec(head!)?.[1];
    assert.ok(id, head);
    assert.deepEqual(lines.sort(), [...expected].map(([h, sub]) => `${h}  cli_mark${sub ? '  in subfile' : ''}`).sort());
    // A bar redrawn in place, ending at 100 %.
    assert.match(err.text, /\r\x1b\[2K\[#+\] finished +100\.0 %/);
    const job = JSON.parse((await trawl('retrohunt', 'get', id, '--json')).out);
    assert.equal(job.attributes.notification_email, 'erin@example.org');
    assert.equal(job.attributes.time_range.start, Date.UTC(2000, 0, 1) / 1000);
    assert.equal(job.attributes.corpus, 'main');
  });

  it('reads rules from standard input and, without a terminal, writes progress as plain lines', async () => {
    const child = spawn(process.execPath, [bin, 'retrohunt', 'start', '-', '--wait', '--url', s.url, '--apikey', key], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (err += c));
    child.stdin.end(RULES);
    const code = await new Promise((r) => child.on('close', r));
    assert.equal(code, 0, err);
    const id = /^retrohunt job (\S+) started$/m.exec(err)?.[1];
    assert.ok(id, err);
    assert.match(err, new RegExp(`^${id}: finished +100\\.0 % +[0-9.]+ [KMG]?B scanned +3 matches$`, 'm'));
    assert.doesNotMatch(err, /\r|\x1b/, 'no terminal control without a terminal');
    assert.match(out, new RegExp(`^retrohunt job ${id} finished`));
    assert.equal(out.trim().split('\n').length, 1 + expected.size);
  });

  it('lists, shows, matches (following cursors), deletes; --json for machines', async () => {
    const started = await trawl('retrohunt', 'start', rulesFile, '--time-range', '1700000000..2024-01-31');
    assert.equal(started.code, 0, started.err);
    const id = started.out.trim();
    assert.match(id, /^erin-\d+(-\d+)?$/);
    const got = JSON.parse((await trawl('retrohunt', 'get', id, '--json')).out);
    // An END date includes its whole day.
    assert.deepEqual(got.attributes.time_range, { start: 1700000000, end: Date.UTC(2024, 0, 31, 23, 59, 59) / 1000 });
    // Files uploaded now are outside that range.
    await pollUntil('finished', async () => JSON.parse((await trawl('retrohunt', 'get', id, '--json')).out).attributes.status, (st) => st === 'finished', 15_000, 50);

    const listed = (await trawl('retrohunt', 'list', '--json')).out.trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(listed.length >= 3);
    assert.equal(listed[0].id, id, 'newest first');
    const table = (await trawl('retrohunt', 'list', '-n', '2')).out.trim().split('\n');
    assert.match(table[0]!, /^JOB ID +CREATED +STATUS +PROGRESS +SCANNED +MATCHES +RULES$/);
    assert.equal(table.length, 3);
    assert.match(table[1]!, new RegExp(`^${id} .* finished +100\\.0 % +0 B +0 +cli_mark$`));
    const filtered = (await trawl('retrohunt', 'list', '-f', 'status:finished', '--json')).out.trim().split('\n');
    assert.equal(filtered.length, listed.filter((j) => j.attributes.status === 'finished').length);
    const shown = (await trawl('retrohunt', 'get', id)).out;
    assert.match(shown, new RegExp(`^id: +${id}$`, 'm'));
    assert.match(shown, /^status: +finished +100\.0 %/m);
    assert.match(shown, /^rules:\n {4}rule cli_mark/m);

    // The matches of the job with three, one page of one item at a time.
    const withMatches = listed.find((j) => j.attributes.num_matches === 3)!.id as string;
    const out = capture();
    const err = capture();
    assert.equal(await retrohuntCommand(['matches', withMatches], { config: { url: s.url, apikey: key }, out, err, pageSize: 1 }), 0, err.text);
    const heads = out.text.split('\n').filter((l) => /^[0-9a-f]{64} /.test(l));
    assert.deepEqual(heads, [...expected].sort(([a], [b]) => a.localeCompare(b)).map(([h, sub]) => `${h}  cli_mark${sub ? '  in subfile' : ''}`));
    // The snippet, indented, without its highlight markers (not a terminal).
    assert.match(out.text, /^ {4}.*43 4C 49 5F 52 45 54 52 4F/m);
    assert.doesNotMatch(out.text, /highlight/);
    const json = (await trawl('retrohunt', 'matches', withMatches, '--json', '-n', '2')).out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(json.length, 2);
    assert.equal(json[0].type, 'file');
    assert.equal(json[0].context_attributes.rule_name, 'cli_mark');
    assert.match(json[0].context_attributes.snippet, /\*begin_highlight\*/);

    assert.equal((await trawl('retrohunt', 'delete', id)).code, 0);
    const gone = await trawl('retrohunt', 'get', id);
    assert.equal(gone.code, 1);
    assert.match(gone.err, /^NotFoundError: .+/m);
  });

  it('prints the API\'s error code and message and exits non-zero; usage errors exit 2', async () => {
    const bad = join(s.dir, 'bad.yar');
    await writeFile(bad, 'rule broken { condition: nothing_here }');
    const refused = await trawl('retrohunt', 'start', bad);
    assert.equal(refused.code, 1);
    assert.match(refused.err, /^InvalidArgumentError: .*nothing_here/m);
    const backwards = await trawl('retrohunt', 'start', rulesFile, '--time-range', '2024-02-01..2024-01-01');
    assert.equal(backwards.code, 1);
    assert.match(backwards.err, /^BadRequestError: .*time_range/m);
    const unknownFilter = await trawl('retrohunt', 'list', '-f', 'status:lost');
    assert.equal(unknownFilter.code, 1);
    assert.match(unknownFilter.err, /^BadRequestError: /m);
    for (const args of [['start', rulesFile, '--corpus', 'bogus'], ['start', rulesFile, '--time-range', 'yesterday'], ['start', rulesFile, '--time-range', '..'], ['matches'], ['frobnicate'], ['list', '-n', 'many']]) {
      const r = await trawl('retrohunt', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, /usage:/);
    }
    const noKey = await runCli(['retrohunt', 'list', '--url', s.url]);
    assert.equal(noKey.code, 2);
  });

  it('start --wait exits 1 when the job ends aborted, saying why', async () => {
    // Slow scans (about 0.2 s per 2 MB file) keep the job running until it is aborted; only over
    // files of 1 MB and more, so that the speed probe's files pass on a loaded machine too.
    // A running job sees an abort within a second (its watcher): 20 files outlast that on 2 threads.
    await Promise.all(Array.from({ length: 20 }, (_, i) => upload(Buffer.alloc(2 * 1024 * 1024, i + 1), `big${i}.bin`)));
    const slow = join(s.dir, 'slow.yar');
    await writeFile(slow, 'import "math"\nrule slow { condition: filesize > 1MB and for all i in (0..filesize \\ 16) : (math.entropy(i * 16, 4096) >= 0) }');
    const out = capture();
    const err = capture();
    const running = main(['retrohunt', 'start', slow, '--wait', '--url', s.url, '--apikey', key], out, err);
    const id = await pollUntil('the job id', async () => /retrohunt job (\S+) started/.exec(err.text)?.[1], (v) => v !== undefined, 30_000, 10);
    const aborted = await trawl('retrohunt', 'abort', id!);
    assert.equal(aborted.code, 0, aborted.err);
    assert.match(aborted.out, new RegExp(`^${id}\\t(aborting|aborted)$`, 'm'));
    assert.equal(await running, 1, err.text);
    assert.match(out.text, new RegExp(`^retrohunt job ${id} aborted .*\\(aborted by user\\)$`, 'm'));
    assert.match((await trawl('retrohunt', 'get', id!)).out, /^abort reason: +aborted by user$/m);
  });
});
