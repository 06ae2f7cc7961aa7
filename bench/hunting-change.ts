// What one ruleset change costs with 1,000 and with 10,000 rulesets stored: the time from the
// PATCH returning to the first matching upload being notified, the server's CPU time until then,
// the delta compile, and the background recompile of the one shard that held the ruleset. None of
// them should grow with the number of rulesets.
// Env: BENCH_CHANGE_RULESETS (1000,10000), BENCH_CHANGES (5).
import { cpuSeconds, pct, startServer, table, verdict, maxOf } from './lib/lib.js';
import { changeLive, createRulesets } from './lib/hunting-lib.js';
import { benchmarkRulesets } from './corpora/rule-corpus.js';

const SIZES = (process.env.BENCH_CHANGE_RULESETS ?? '1000,10000').split(',').map(Number);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 5);
const compiled = (log: string, set: RegExp) =>
  [...log.matchAll(/"set":"([^"]+)","rulesets":(\d+),"ms":(\d+)/g)].filter((m) => set.test(m[1]!)).map((m) => ({ rulesets: Number(m[2]), ms: Number(m[3]) }));

async function main(): Promise<void> {
  const rows: (string | number)[][] = [['rulesets', 'startup compile s', 'change -> live s (median, max)', 'CPU s until live (median)', 'delta compile ms', 'shard recompile (rulesets, s)', 'target']];
  for (const n of SIZES) {
    // A short rebuild delay so the background shard recompile happens within the run.
    const flags = ['--log-level', 'info', '--shard-rebuild-delay', '1'];
    let s = await startServer(flags);
    const t0 = performance.now();
    const ids = await createRulesets(s, benchmarkRulesets(n));
    console.log(`${n} rulesets created through the API in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    await s.stop(true);
    s = await startServer(flags, { dir: s.dir, key: s.key });
    try {
      const startup = compiled(s.log(), /^shard/).reduce((a, c) => a + c.ms, 0) / 1000;
      const live: number[] = [];
      const cpu: number[] = [];
      for (let k = 0; k < CHANGES; k++) {
        const before = cpuSeconds(s.proc.pid!);
        live.push(await changeLive(s, ids[(k * 997) % n]!, k));
        cpu.push(cpuSeconds(s.proc.pid!) - before);
        // Let the changed shard be recompiled before the next change.
        const shardsBefore = compiled(s.log(), /^shard/).length;
        const until = performance.now() + 120_000;
        while (compiled(s.log(), /^shard/).length === shardsBefore && performance.now() < until) await new Promise((r) => setTimeout(r, 200));
      }
      const deltas = compiled(s.log(), /^delta(:\d+)?$/).slice(-CHANGES).map((c) => c.ms);
      const rebuilds = compiled(s.log(), /^shard/).slice(-CHANGES);
      rows.push([
        n, startup,
        `${pct(Float64Array.from(live), 50).toFixed(2)}, ${maxOf(live).toFixed(2)}`,
        pct(Float64Array.from(cpu), 50),
        deltas.join(' '),
        rebuilds.map((r) => `${r.rulesets}: ${(r.ms / 1000).toFixed(1)}`).join(', '),
        `live < 2 s ${verdict(maxOf(live) < 2)}`,
      ]);
    } finally {
      await s.stop();
    }
  }
  table(`one ruleset change at a time, ${CHANGES} changes (each PATCH replaces the rules of one ruleset)`, rows);
}

await main();
process.exit(0);
