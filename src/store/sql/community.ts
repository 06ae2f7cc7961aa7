// Files' verdicts from community rules (migration 0020), as queries on a Kysely database (used by
// sql-store.ts). The analysis writes a file's verdict with the rest of its row (jobs.ts); a late
// scan, which rescans some rulesets only, merges its matches into it here.
import type { Kysely } from 'kysely';
import type { CommunityScan, CommunityUpdate } from '../store.js';
import type { Database } from './schema.js';

/** Inside the caller's transaction: merges a late scan's community matches (see CommunityUpdate). */
export async function mergeCommunityScan(tx: Kysely<Database>, u: CommunityUpdate): Promise<void> {
  const row = await tx.selectFrom('files').select('community_scan').where('sha256', '=', u.sha256).executeTakeFirst();
  if (!row) return;
  const before = row.community_scan ? (JSON.parse(row.community_scan) as CommunityScan).matches : [];
  const rescanned = u.rescanned === 'all' ? null : new Set(u.rescanned);
  const kept = rescanned ? before.filter((m) => !rescanned.has(m.rulesetId)) : [];
  const merged: CommunityScan = { date: u.scan.date, matches: [...kept, ...u.scan.matches] };
  await tx.updateTable('files').set((eb) => ({ community_scan: JSON.stringify(merged), revision: eb('revision', '+', 1) }))
    .where('sha256', '=', u.sha256).execute();
}
