// Refuses a ruleset that scans far slower than rules do, by measuring it rather than trusting the
// engine's warnings: a condition such as `for all i in (0..filesize) : (for all j in (0..filesize)
// : ...)` has no slow pattern and compiles cleanly, yet never finishes on a 300 KB file, and every
// file in the shard it shares waits for it. A new or changed ruleset is compiled alone and scanned
// over a small fixed probe corpus (random bytes, text, a PE-like and an ELF-like header, a larger
// mixed file); it is refused, with what it took, when it does not keep MIN_MB_PER_S.
import { invalidArgument } from '../../model/errors.js';
import { compileRulesets, ScanTimeoutError, type CompiledRules } from '../engine/compiled-rules.js';

/**
 * The slowest scan rate a ruleset alone may have over the probes. Rulesets of public collections
 * scan them at 50-500 MB/s; a ruleset below this one would cost every scanned megabyte about a
 * second of a thread.
 */
export const MIN_MB_PER_S = 2;
/** A probe file not scanned within this is refused at once. */
const PROBE_TIMEOUT_MS = 1000;
/**
 * The engine's timeout, a second more: YARA-X counts whole seconds on a clock that ticks every
 * second, so a 1 s timeout fires at the first tick, anywhere from 0 to 1 s into the scan. Under
 * load that refused quick rulesets at random (one of the Livehunt benchmark's 10,000 generated
 * rulesets, while they were being created).
 * With 2 s, a scan the engine stops has run at least a second.
 */
const ENGINE_TIMEOUT_MS = PROBE_TIMEOUT_MS + 1000;

/** A deterministic pseudo-random generator (xorshift32): the probes are the same on every run. */
function bytes(n: number, seed: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function text(n: number): Buffer {
  const lines = [
    'GET /index.html HTTP/1.1\r\nHost: example.org\r\nUser-Agent: Mozilla/5.0\r\n',
    'function main(argv) { var shell = new ActiveXObject("WScript.Shell"); return shell.Run(argv[0]); }\n',
    'powershell -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA\n',
    '<html><head><script src="https://cdn.example.org/a.js"></script></head><body>hello</body></html>\n',
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.\n',
  ];
  const parts: string[] = [];
  for (let size = 0, i = 0; size < n; i++) {
    const l = lines[i % lines.length]!;
    parts.push(l);
    size += l.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

function withHeader(header: Buffer, n: number, seed: number): Buffer {
  const b = bytes(n, seed);
  header.copy(b, 0);
  return b;
}

function peHeader(): Buffer {
  const h = Buffer.alloc(0x200);
  h.write('MZ', 0, 'latin1');
  h.writeUInt32LE(0x80, 0x3c);
  h.write('PE\0\0', 0x80, 'latin1');
  h.writeUInt16LE(0x14c, 0x84); // i386
  h.writeUInt16LE(3, 0x86); // sections
  h.writeUInt16LE(0xe0, 0x94); // optional header size
  h.writeUInt16LE(0x10b, 0x98); // PE32
  return h;
}

function elfHeader(): Buffer {
  const h = Buffer.alloc(64);
  Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]).copy(h, 0);
  h.writeUInt16LE(2, 16); // executable
  h.writeUInt16LE(62, 18); // x86-64
  return h;
}

let probes: { name: string; data: Buffer }[] | undefined;

/** The probe corpus (built once per thread): about 0.5 MB. */
export function probeCorpus(): readonly { name: string; data: Buffer }[] {
  probes ??= [
    { name: 'random', data: bytes(64 * 1024, 1) },
    { name: 'text', data: text(64 * 1024) },
    { name: 'PE-like', data: withHeader(peHeader(), 64 * 1024, 2) },
    { name: 'ELF-like', data: withHeader(elfHeader(), 64 * 1024, 3) },
    { name: 'larger mixed', data: Buffer.concat([text(96 * 1024), bytes(160 * 1024, 4)]) },
  ];
  return probes;
}

/**
 * How fast `rules` scan the probe corpus, in MB/s: a first idea of a set's pace before it has
 * scanned real files (public collections scan real files at about half of it).
 */
export function probeMbPerS(rules: CompiledRules): number {
  const corpus = probeCorpus();
  const started = performance.now();
  for (const p of corpus) rules.scan(p.data, ENGINE_TIMEOUT_MS);
  const seconds = Math.max(1e-6, (performance.now() - started) / 1000);
  return corpus.reduce((n, p) => n + p.data.length, 0) / (1024 * 1024) / seconds;
}

/**
 * Compiles `source` alone (as shards compile it) and scans the probe corpus with it. Throws
 * InvalidArgumentError saying how slow it was when a probe times out or the whole corpus scans
 * below MIN_MB_PER_S. Call after the source validated.
 */
export function probeRulesetSpeed(source: string): void {
  const rules = compileRulesets([{ id: '0_0', source }]);
  const corpus = probeCorpus();
  const totalBytes = corpus.reduce((n, p) => n + p.data.length, 0);
  const budgetMs = (totalBytes / (1024 * 1024) / MIN_MB_PER_S) * 1000;
  let spent = 0;
  for (const p of corpus) {
    const started = performance.now();
    try {
      rules.scan(p.data, ENGINE_TIMEOUT_MS);
      if (performance.now() - started > PROBE_TIMEOUT_MS) throw new ScanTimeoutError(PROBE_TIMEOUT_MS);
    } catch (err) {
      if (!(err instanceof ScanTimeoutError)) throw err;
      throw invalidArgument(
        `Invalid YARA ruleset: too slow to hunt with: scanning a ${p.data.length / 1024} KB ${p.name} probe file did not finish within ` +
          `${PROBE_TIMEOUT_MS / 1000} s (a ruleset must scan at least ${MIN_MB_PER_S} MB/s); look for loops over filesize or nested loops`,
      );
    }
    spent += performance.now() - started;
  }
  if (spent > budgetMs) {
    throw invalidArgument(
      `Invalid YARA ruleset: too slow to hunt with: it took ${Math.round(spent)} ms to scan ${Math.round(totalBytes / 1024)} KB of probe files ` +
        `(${(totalBytes / 1024 / 1024 / (spent / 1000)).toFixed(2)} MB/s; at least ${MIN_MB_PER_S} MB/s, at most ${Math.round(budgetMs)} ms); look for loops over filesize or nested loops`,
    );
  }
}
