// What a page's SQL costs by the columns it reads (docs/notes/benchmarks.md, IoC Stream): the query of
// an unfiltered page of 40 (41 rows at a random cursor, with the file-revision join) on 1,000,000
// generated notifications, selecting every column or fewer, as better-sqlite3 objects (what the
// store reads) and as arrays (`raw`). Run after a build:
// node dist/bench/probes/page-query-cost.js
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { serverWithNotifications, START, STEP } from '../corpora/notification-corpus.js';

const N = 1_000_000;
const PAGES = 20_000;
const SHAPES: Record<string, string> = {
  'all 9 columns': 'n.*',
  'id, date, sha256, stream_context (a stream page)': 'n.id, n.date, n.sha256, n.stream_context',
  'id, date, sha256': 'n.id, n.date, n.sha256',
};

const s = await serverWithNotifications('sqlite', N, ['--log-level', 'warn']);
await s.stop(true);
const db = new BetterSqlite3(join(s.dir, 'trawl.db'), { readonly: true });
db.pragma('mmap_size = 1073741824'); // as the store opens it
const page = (st: BetterSqlite3.Statement) => {
  const i = 1 + Math.floor(Math.random() * N);
  st.all(START + i * STEP, i);
};
for (const [name, cols] of Object.entries(SHAPES)) {
  for (const raw of [false, true]) {
    const st = db.prepare(`select ${cols}, f.revision as f_revision from hunting_notifications n
      left join files f on f.sha256 = n.sha256
      where n.owner_id = 1 and (n.date, n.id) < (?, ?) order by n.date desc, n.id desc limit 41`);
    st.raw(raw);
    for (let k = 0; k < PAGES / 4; k++) page(st); // warm: the first shape would pay for the page cache
    const t = performance.now();
    for (let k = 0; k < PAGES; k++) page(st);
    console.log(`${name}, ${raw ? 'arrays' : 'objects'}: ${(((performance.now() - t) * 1000) / PAGES).toFixed(0)} µs per page`);
  }
}
db.close();
await s.stop();
process.exit(0);
