// The benchmark rule set: N rulesets x 10 rules mixing text, hex (with jumps and wildcards) and
// regex patterns, generated deterministically. Atoms are realistic: words, API names, paths and
// byte sequences of the kind public rules use, made distinct per rule with a varying part, so
// most rules match nothing while a few (about 1 ruleset in 100) match common strings of
// /usr/bin and /usr/lib files and produce notifications.

/** Deterministic PRNG (mulberry32), so every run generates the same rules. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = [
  'CreateRemoteThread', 'VirtualAllocEx', 'WriteProcessMemory', 'NtUnmapViewOfSection', 'GetProcAddress',
  'LoadLibraryA', 'InternetOpenUrl', 'URLDownloadToFile', 'ShellExecute', 'RegSetValueEx', 'WinExec',
  'powershell -enc', 'cmd.exe /c', 'rundll32.exe', 'schtasks /create', 'vssadmin delete shadows',
  'Software\\Microsoft\\Windows\\CurrentVersion\\Run', 'bitcoin wallet', 'your files have been encrypted',
  'Mozilla/5.0 (Windows NT', '/bin/sh -c', 'wget http', 'curl -s', 'chmod +x', '/tmp/.X11', 'crontab -l',
  'stratum+tcp://', 'xmrig', 'mimikatz', 'sekurlsa', 'lsass.exe', 'keylogger', 'password=', 'token=',
  'AES_encrypt', 'RC4', 'base64_decode', 'eval(gzinflate', 'document.write(unescape', 'ActiveXObject',
];
/** Strings many ELF files contain: rules using them match part of the /usr corpus. */
const COMMON = ['GLIBC_2.2.5', '__libc_start_main', '.gnu.version_r', 'GCC: (Debian', '__cxa_finalize'];
const TLDS = ['xyz', 'top', 'ru', 'cn', 'info', 'biz'];
const MODS = ['ascii', 'wide', 'ascii wide', 'nocase', 'ascii wide nocase', 'fullword'];

const hexByte = (r: () => number) => Math.floor(r() * 256).toString(16).toUpperCase().padStart(2, '0');
const pick = <T>(r: () => number, list: readonly T[]) => list[Math.floor(r() * list.length)]!;
const tag = (r: () => number) => pick(r, ['apt', 'ransomware', 'miner', 'loader', 'webshell', 'stealer', 'backdoor']);

function textPattern(r: () => number, id: string): string {
  const word = pick(r, WORDS).replace(/\\/g, '\\\\');
  return `"${word}-${id}" ${pick(r, MODS)}`;
}

function hexPattern(r: () => number): string {
  // A 4-byte fixed head (a good atom), then wildcards, a jump, and a fixed tail.
  const head = Array.from({ length: 4 }, () => hexByte(r)).join(' ');
  const tail = Array.from({ length: 3 }, () => hexByte(r)).join(' ');
  const lo = 1 + Math.floor(r() * 4);
  return `{ ${head} ?? ${hexByte(r)} [${lo}-${lo + 1 + Math.floor(r() * 8)}] ${tail} ?${hexByte(r)[1]} }`;
}

function regexPattern(r: () => number, id: string): string {
  const forms = [
    () => `/https?:\\/\\/[a-z0-9]{4,12}\\.${pick(r, TLDS)}\\/gate${id}\\.php/`,
    () => `/${pick(r, ['beacon', 'implant', 'payload', 'dropper'])}_${id}[0-9a-f]{8,16}/`,
    () => `/[A-Za-z0-9+\\/]{16}${id}==/`,
  ];
  return pick(r, forms)();
}

/** One ruleset of `rules` rules; `common` makes its first rule match widespread strings. */
export function benchmarkRuleset(index: number, rules = 10, seed = 1): string {
  const r = prng(seed * 1_000_003 + index);
  const out: string[] = [];
  const common = index % 100 === 7;
  for (let k = 0; k < rules; k++) {
    const id = `${index.toString(36)}x${k}${Math.floor(r() * 1e6).toString(36)}`;
    const strings: string[] = [];
    let condition: string;
    if (common && k === 0) {
      strings.push(`$c = "${pick(r, COMMON)}"`, `$t = ${textPattern(r, id)}`);
      condition = 'uint32(0) == 0x464C457F and $c and not $t';
    } else {
      const n = 2 + Math.floor(r() * 3);
      for (let j = 0; j < n; j++) {
        const kind = j % 3;
        strings.push(`$p${j} = ${kind === 0 ? textPattern(r, id) : kind === 1 ? hexPattern(r) : regexPattern(r, id)}`);
      }
      condition = pick(r, [
        'any of them',
        '2 of them',
        'all of them and filesize < 5MB',
        'uint16(0) == 0x5A4D and any of them',
        '$p0 and #p1 >= 0 and any of them',
      ]);
    }
    out.push(
      `rule r${index}_${k} : ${tag(r)} {\n  meta:\n    author = "bench"\n  strings:\n    ${strings.join('\n    ')}\n  condition:\n    ${condition}\n}`,
    );
  }
  return out.join('\n\n') + '\n';
}

/** The benchmark rule set: `count` rulesets as {name, rules}. */
export function benchmarkRulesets(count: number, rules = 10, seed = 1): { name: string; rules: string }[] {
  return Array.from({ length: count }, (_, i) => ({ name: `bench_${String(i).padStart(5, '0')}`, rules: benchmarkRuleset(i, rules, seed) }));
}
