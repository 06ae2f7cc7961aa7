// Nothing lost, nothing doubled: `trawl serve` is SIGKILLed at a random moment of an upload burst
// (8 clients, a third of the files matching a ruleset), restarted on the same data, and checked:
// every acknowledged upload is there and analysed, and every matching acknowledged upload has
// exactly one notification. Trials on SQLite and on PostgreSQL (scripts/pg-test-server.sh's, or
// TRAWL_TEST_PG_URL's server, a fresh database per trial).
//
//   node dist/bench/kill-test.js [trials=20]
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, request, ROOT, startServer, table, upload, waitCompleted, type Server } from './lib/lib.js';

const TRIALS = Number(process.argv[2] ?? 20);
const MARK = `KILL-TEST-MARK-${randomBytes(4).toString('hex')}`;
const RULE = 'kill_test_rule';

interface Trial {
  acked: number;
  attempted: number;
  lost: number;
  notAnalysed: number;
  missingNotifications: number;
  duplicateNotifications: number;
}

function pgUrl(): string | null {
  if (process.env.TRAWL_TEST_PG_URL) return process.env.TRAWL_TEST_PG_URL;
  const r = spawnSync('bash', [join(ROOT, 'scripts/pg-test-server.sh')], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Notifications of the test rule, by the sha256 they were about (paging through all). */
async function notifiedShas(s: Server): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let url: string | undefined = `${s.url}/api/v3/intelligence/hunting_notifications?filter=tag:${RULE}&limit=40`;
  while (url) {
    const page = await getJson(url, s.key);
    for (const n of page.data) {
      const sha = (n.attributes.tags as string[]).find((t) => /^[0-9a-f]{64}$/.test(t))!;
      counts.set(sha, (counts.get(sha) ?? 0) + 1);
    }
    url = page.links.next;
  }
  return counts;
}

async function trial(database: string | null): Promise<Trial> {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-kill-'));
  const extra = database ? ['--database', database] : [];
  const s = await startServer(extra, { dir, key: '' });
  const body = Buffer.from(JSON.stringify({ data: { type: 'hunting_ruleset', attributes: { name: 'kill_test', enabled: true, rules: `rule ${RULE} { strings: $a = "${MARK}" condition: $a }` } } }));
  const created = await request('POST', `${s.url}/api/v3/intelligence/hunting_rulesets`, { 'x-apikey': s.key, 'content-type': 'application/json' }, [body]);
  if (created.status !== 200) throw new Error(`ruleset: ${created.status}`);
  const acked = new Map<string, { sha256: string; matches: boolean }>();
  let attempted = 0;
  // Each client uploads until the server is gone, so the kill always finds uploads in flight.
  const client = async () => {
    for (let i = 0; ; i++) {
      const matches = Math.random() < 1 / 3;
      const data = Buffer.concat([randomBytes(500 + Math.floor(Math.random() * 40_000)), matches ? Buffer.from(MARK) : Buffer.alloc(0)]);
      attempted++;
      try {
        const id = await upload(s, `k${attempted}.bin`, data);
        acked.set(id, { sha256: createHash('sha256').update(data).digest('hex'), matches });
      } catch {
        return;
      }
    }
  };
  const clients = Array.from({ length: 8 }, client);
  await new Promise((r) => setTimeout(r, 300 + Math.random() * 2700));
  s.proc.kill('SIGKILL');
  await Promise.all(clients);
  await new Promise((r) => s.proc.once('exit', r).exitCode !== null && r(null));

  const again = await startServer(extra, { dir, key: s.key });
  try {
    let lost = 0;
    let notAnalysed = 0;
    for (const [id, f] of acked) {
      const file = await request('GET', `${again.url}/api/v3/files/${f.sha256}`, { 'x-apikey': again.key }, []);
      if (file.status !== 200) lost++;
      const a = await getJson(`${again.url}/api/v3/analyses/${id}`, again.key).catch(() => null);
      if (!a) notAnalysed++;
    }
    await waitCompleted(again, [...acked.keys()]);
    const notified = await notifiedShas(again);
    let missing = 0;
    let duplicates = 0;
    for (const f of acked.values()) {
      const n = notified.get(f.sha256) ?? 0;
      if (f.matches && n === 0) missing++;
      if (n > 1) duplicates++;
    }
    return { acked: acked.size, attempted, lost, notAnalysed, missingNotifications: missing, duplicateNotifications: duplicates };
  } finally {
    await again.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const rows: (string | number)[][] = [['store', 'trials', 'uploads acknowledged', 'attempted', 'lost', 'not analysed', 'notifications missing', 'notifications doubled']];
const pg = pgUrl();
for (const store of ['sqlite', ...(pg ? ['postgres'] : [])]) {
  const sum: Trial = { acked: 0, attempted: 0, lost: 0, notAnalysed: 0, missingNotifications: 0, duplicateNotifications: 0 };
  for (let i = 0; i < TRIALS; i++) {
    let database: string | null = null;
    if (store === 'postgres') {
      const db = `trawl_kill_${process.pid}_${i}`;
      execFileSync('psql', [pg!, '-qc', `DROP DATABASE IF EXISTS ${db}`, '-c', `CREATE DATABASE ${db}`], { stdio: 'ignore' });
      const u = new URL(pg!);
      u.pathname = `/${db}`;
      database = u.toString();
    }
    const t = await trial(database);
    for (const k of Object.keys(sum) as (keyof Trial)[]) sum[k] += t[k];
    process.stderr.write(`${store} trial ${i + 1}: ${JSON.stringify(t)}\n`);
    if (database) execFileSync('psql', [pg!, '-qc', `DROP DATABASE IF EXISTS ${new URL(database).pathname.slice(1)}`], { stdio: 'ignore' });
  }
  rows.push([store, TRIALS, sum.acked, sum.attempted, sum.lost, sum.notAnalysed, sum.missingNotifications, sum.duplicateNotifications]);
}
if (!pg) process.stderr.write('PostgreSQL not available: its trials were skipped\n');
table('SIGKILL at a random moment of an upload burst (8 clients), restart, check (target: 0 lost, 0 missing, 0 doubled)', rows);
process.exit(0);
