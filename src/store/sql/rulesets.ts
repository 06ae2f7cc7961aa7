// Hunting rulesets and their editors, as queries on a Kysely database (used by sql-store.ts).
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { NewRuleset, RulesetPatch, RulesetRecord } from '../store.js';
import type { Database, HuntingRulesetsTable } from './schema.js';

function toRuleset(r: Selectable<HuntingRulesetsTable>, editorIds: number[]): RulesetRecord {
  return {
    id: Number(r.id),
    ownerId: Number(r.owner_id),
    name: r.name,
    rules: r.rules,
    enabled: Number(r.enabled) === 1,
    limit: Number(r.notification_limit),
    notificationEmails: JSON.parse(r.notification_emails) as string[],
    matchObjectType: r.match_object_type,
    tags: JSON.parse(r.tags) as string[],
    ruleNames: JSON.parse(r.rule_names) as string[],
    creationDate: Number(r.creation_date),
    modificationDate: Number(r.modification_date),
    editorIds,
  };
}

function columns(p: RulesetPatch): Updateable<HuntingRulesetsTable> {
  const c: Updateable<HuntingRulesetsTable> = {};
  if (p.ownerId !== undefined) c.owner_id = p.ownerId;
  if (p.name !== undefined) c.name = p.name;
  if (p.rules !== undefined) c.rules = p.rules;
  if (p.enabled !== undefined) c.enabled = p.enabled ? 1 : 0;
  if (p.limit !== undefined) c.notification_limit = p.limit;
  if (p.notificationEmails !== undefined) c.notification_emails = JSON.stringify(p.notificationEmails);
  if (p.matchObjectType !== undefined) c.match_object_type = p.matchObjectType;
  if (p.tags !== undefined) c.tags = JSON.stringify(p.tags);
  if (p.ruleNames !== undefined) c.rule_names = JSON.stringify(p.ruleNames);
  if (p.modificationDate !== undefined) c.modification_date = p.modificationDate;
  return c;
}

/** Loads rulesets by id with their editors, in id order. */
async function load(db: Kysely<Database>, ids: number[]): Promise<RulesetRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('hunting_rulesets').selectAll().where('id', 'in', ids).orderBy('id').execute();
  const editors = await db.selectFrom('hunting_ruleset_editors').selectAll().where('ruleset_id', 'in', ids).execute();
  const byRuleset = new Map<number, number[]>();
  for (const e of editors) byRuleset.set(Number(e.ruleset_id), [...(byRuleset.get(Number(e.ruleset_id)) ?? []), Number(e.user_id)]);
  return rows.map((r) => toRuleset(r, (byRuleset.get(Number(r.id)) ?? []).sort((a, b) => a - b)));
}

export async function create(db: Kysely<Database>, r: NewRuleset): Promise<RulesetRecord> {
  const row = await db.insertInto('hunting_rulesets').values({
    owner_id: r.ownerId,
    name: r.name,
    rules: r.rules,
    enabled: r.enabled ? 1 : 0,
    notification_limit: r.limit,
    notification_emails: JSON.stringify(r.notificationEmails),
    match_object_type: r.matchObjectType,
    tags: JSON.stringify(r.tags),
    rule_names: JSON.stringify(r.ruleNames),
    creation_date: r.creationDate,
    modification_date: r.modificationDate,
  }).returningAll().executeTakeFirstOrThrow();
  return toRuleset(row, []);
}

export async function get(db: Kysely<Database>, id: number): Promise<RulesetRecord | null> {
  return (await load(db, [id]))[0] ?? null;
}

export async function listOf(db: Kysely<Database>, userId: number): Promise<RulesetRecord[]> {
  const owned = db.selectFrom('hunting_rulesets').select('id').where('owner_id', '=', userId);
  const edited = db.selectFrom('hunting_ruleset_editors').select('ruleset_id as id').where('user_id', '=', userId);
  const ids = (await owned.union(edited).execute()).map((r) => Number(r.id));
  return load(db, ids);
}

export async function update(db: Kysely<Database>, id: number, patch: RulesetPatch): Promise<RulesetRecord | null> {
  const set = columns(patch);
  if (Object.keys(set).length > 0) {
    const r = await db.updateTable('hunting_rulesets').set(set).where('id', '=', id).executeTakeFirst();
    if (Number(r.numUpdatedRows) === 0) return null;
  }
  return get(db, id);
}

export async function remove(db: Kysely<Database>, id: number): Promise<boolean> {
  await db.deleteFrom('hunting_ruleset_editors').where('ruleset_id', '=', id).execute();
  const r = await db.deleteFrom('hunting_rulesets').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function addEditor(db: Kysely<Database>, id: number, userId: number): Promise<void> {
  await db.insertInto('hunting_ruleset_editors').values({ ruleset_id: id, user_id: userId })
    .onConflict((oc) => oc.columns(['ruleset_id', 'user_id']).doNothing()).execute();
}

export async function removeEditor(db: Kysely<Database>, id: number, userId: number): Promise<boolean> {
  const r = await db.deleteFrom('hunting_ruleset_editors').where('ruleset_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
