// Migration 0007: the stored stream context becomes the only copy of the notification fields it
// holds. Rows stored before 0006 get their context made from their columns first, by the same
// serializer that writes new ones; then the columns go. `down` puts them back from the contexts.
import type { Kysely } from 'kysely';
import { recordFields, storedStreamContext } from '../../model/stream-context.js';

/** The columns whose values only the context keeps after 0007, with how `down` re-creates them. */
const MOVED = [
  ['ruleset_name', 'text', ''], ['rule_tags', 'text', '[]'], ['snippet', 'text', null], ['match_in_subfile', 'integer', 0],
  ['source_key', 'text', ''], ['source_country', 'text', ''], ['tags', 'text', '[]'],
] as const;

const BATCH = 1000;

/** Calls `each` on every notification (or those without a context), in id order, BATCH rows read at a time. */
async function inBatches(db: Kysely<any>, columns: string[], onlyMissing: boolean, each: (r: Record<string, any>) => Promise<void>): Promise<void> {
  for (let last = 0; ;) {
    let q = db.selectFrom('hunting_notifications').select(['id', ...columns]).where('id', '>', last);
    if (onlyMissing) q = q.where('stream_context', 'is', null);
    const rows = await q.orderBy('id').limit(BATCH).execute();
    for (const r of rows) await each(r);
    if (rows.length < BATCH) return;
    last = Number(rows.at(-1)!.id);
  }
}

export async function contextOnly(db: Kysely<any>): Promise<void> {
  await inBatches(db, ['owner_id', 'ruleset_id', 'date', 'sha256', 'submission_id', 'rule_name', ...MOVED.map(([c]) => c)], true, async (r) => {
    const context = storedStreamContext({
      ownerId: Number(r.owner_id), rulesetId: Number(r.ruleset_id), rulesetName: r.ruleset_name, date: Number(r.date),
      sha256: r.sha256, submissionId: Number(r.submission_id), ruleName: r.rule_name, ruleTags: JSON.parse(r.rule_tags),
      snippet: r.snippet, matchInSubfile: Number(r.match_in_subfile) === 1, sourceKey: r.source_key,
      sourceCountry: r.source_country, tags: JSON.parse(r.tags),
    });
    await db.updateTable('hunting_notifications').set({ stream_context: context }).where('id', '=', r.id).execute();
  });
  // One column per statement: SQLite alters one at a time.
  for (const [c] of MOVED) await db.schema.alterTable('hunting_notifications').dropColumn(c).execute();
}

export async function columnsBack(db: Kysely<any>): Promise<void> {
  for (const [c, type, fill] of MOVED) {
    await db.schema.alterTable('hunting_notifications')
      .addColumn(c, type, (col) => (fill === null ? col : col.notNull().defaultTo(fill))).execute();
  }
  await inBatches(db, ['stream_context'], false, async (r) => {
    const f = recordFields(r.stream_context);
    await db.updateTable('hunting_notifications').set({
      ruleset_name: f.rulesetName, rule_tags: JSON.stringify(f.ruleTags), snippet: f.snippet,
      match_in_subfile: f.matchInSubfile ? 1 : 0, source_key: f.sourceKey, source_country: f.sourceCountry, tags: JSON.stringify(f.tags),
    }).where('id', '=', r.id).execute();
  });
}
