// Hunting rulesets and their editors, as queries on a Kysely database (used by sql-store.ts).
import type { Kysely, Selectable, Updateable } from 'kysely';
import type { CommunityRuleset, NewRuleset, RulesetPatch, RulesetRecord, RulesetSource, SlowScan } from '../store.js';
import { COMMUNITY_OWNER_ID } from '../../model/records.js';
import { shapesOf } from './compiled-shapes.js';
import type { Database, HuntingRulesetsTable } from './schema.js';

function toRuleset(r: Selectable<HuntingRulesetsTable>, editorIds: number[], editorGroupIds: number[] = [], groupMemberIds: number[] = []): RulesetRecord {
  const out: RulesetRecord = {
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
    editorGroupIds,
    groupMemberIds,
    rulesGeneration: Number(r.rules_generation),
    rateLimit: {
      from: r.limited_from === null ? null : Number(r.limited_from),
      until: r.limited_until === null ? null : Number(r.limited_until),
      log: JSON.parse(r.limited_log) as [number, number][],
    },
    slowScans: Number(r.slow_scans),
    lastSlowScan: r.last_slow_scan === null ? null : (JSON.parse(r.last_slow_scan) as SlowScan),
  };
  if (r.community) out.community = JSON.parse(r.community) as CommunityRuleset;
  return out;
}

/** Keep this much change history; a matcher further behind reloads every ruleset. */
const CHANGES_KEPT_SECONDS = 7 * 86_400;

/**
 * Records a change to a ruleset's compiled state and returns its generation. Matchers in every
 * process follow these rows (rulesetChangesSince) to recompile only what changed.
 */
async function recordChange(db: Kysely<Database>, rulesetId: number): Promise<number> {
  const date = Math.floor(Date.now() / 1000);
  const { value } = await db.updateTable('counters').set((eb) => ({ value: eb('value', '+', 1) }))
    .where('name', '=', 'rules_generation').returning('value').executeTakeFirstOrThrow();
  const generation = Number(value);
  await db.insertInto('ruleset_changes').values({ generation, ruleset_id: rulesetId, date }).execute();
  if (generation % 100 === 0) {
    await db.deleteFrom('ruleset_changes').where('date', '<', date - CHANGES_KEPT_SECONDS).execute();
  }
  return generation;
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
  if (p.community !== undefined) c.community = JSON.stringify(p.community);
  return c;
}

/** Loads rulesets by id with their editors, in id order. */
async function load(db: Kysely<Database>, ids: number[]): Promise<RulesetRecord[]> {
  if (ids.length === 0) return [];
  const rows = await db.selectFrom('hunting_rulesets').selectAll().where('id', 'in', ids).orderBy('id').execute();
  const editors = await db.selectFrom('hunting_ruleset_editors').selectAll().where('ruleset_id', 'in', ids).execute();
  const byRuleset = new Map<number, number[]>();
  for (const e of editors) byRuleset.set(Number(e.ruleset_id), [...(byRuleset.get(Number(e.ruleset_id)) ?? []), Number(e.user_id)]);
  // Groups the rulesets are shared with, and their members (spec 7.2).
  const shares = await db.selectFrom('hunting_ruleset_groups').selectAll().where('ruleset_id', 'in', ids).execute();
  const groupIds = [...new Set(shares.map((g) => Number(g.group_id)))];
  const members = groupIds.length === 0 ? [] : await db.selectFrom('group_members').select(['group_id', 'user_id']).where('group_id', 'in', groupIds).execute();
  const ascending = (a: number, b: number) => a - b;
  return rows.map((r) => {
    const groups = shares.filter((g) => Number(g.ruleset_id) === Number(r.id)).map((g) => Number(g.group_id)).sort(ascending);
    const via = new Set(members.filter((m) => groups.includes(Number(m.group_id))).map((m) => Number(m.user_id)));
    via.delete(Number(r.owner_id));
    return toRuleset(r, (byRuleset.get(Number(r.id)) ?? []).sort(ascending), groups, [...via].sort(ascending));
  });
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
    rules_generation: 0,
    limited_from: null,
    limited_until: null,
    limited_log: '[]',
    slow_scans: 0,
    last_slow_scan: null,
    community: r.community ? JSON.stringify(r.community) : null,
  }).returningAll().executeTakeFirstOrThrow();
  const generation = await recordChange(db, Number(row.id));
  await db.updateTable('hunting_rulesets').set({ rules_generation: generation }).where('id', '=', row.id).execute();
  return toRuleset({ ...row, rules_generation: generation }, []);
}

export async function get(db: Kysely<Database>, id: number): Promise<RulesetRecord | null> {
  return (await load(db, [id]))[0] ?? null;
}

export async function listOf(db: Kysely<Database>, userId: number): Promise<RulesetRecord[]> {
  const owned = db.selectFrom('hunting_rulesets').select('id').where('owner_id', '=', userId);
  const edited = db.selectFrom('hunting_ruleset_editors').select('ruleset_id as id').where('user_id', '=', userId);
  const viaGroup = db.selectFrom('hunting_ruleset_groups as s').innerJoin('group_members as m', 'm.group_id', 's.group_id')
    .select('s.ruleset_id as id').where('m.user_id', '=', userId);
  const ids = (await owned.union(edited).union(viaGroup).execute()).map((r) => Number(r.id)).sort((a, b) => a - b);
  return load(db, ids);
}

export async function byName(db: Kysely<Database>, ownerId: number, name: string): Promise<RulesetRecord | null> {
  const row = await db.selectFrom('hunting_rulesets').select('id').where('owner_id', '=', ownerId).where('name', '=', name).executeTakeFirst();
  return row ? get(db, Number(row.id)) : null;
}

/** Read on every page of notifications (the scope), so compiled once (compiled-shapes.ts). */
export async function shared(db: Kysely<Database>, userId: number): Promise<{ id: number; ownerId: number }[]> {
  const rows = await shapesOf(db).rows('shared rulesets', { userId }, [], (a) => db.selectFrom('hunting_ruleset_editors as e')
    .innerJoin('hunting_rulesets as r', 'r.id', 'e.ruleset_id')
    .select(['r.id', 'r.owner_id']).where('e.user_id', '=', a.userId).where('r.owner_id', '!=', a.userId)
    .union(db.selectFrom('hunting_ruleset_groups as s').innerJoin('group_members as m', 'm.group_id', 's.group_id')
      .innerJoin('hunting_rulesets as r', 'r.id', 's.ruleset_id')
      .select(['r.id', 'r.owner_id']).where('m.user_id', '=', a.userId).where('r.owner_id', '!=', a.userId)));
  return rows.map((r) => ({ id: Number(r.id), ownerId: Number(r.owner_id) })).sort((x, y) => x.id - y.id);
}

/** Inside a transaction: changes the given fields; a new owner takes the ruleset's notifications along. */
export async function update(db: Kysely<Database>, id: number, patch: RulesetPatch): Promise<RulesetRecord | null> {
  const set = columns(patch);
  if (Object.keys(set).length === 0) return get(db, id);
  const before = await db.selectFrom('hunting_rulesets').select(['rules', 'enabled', 'owner_id']).where('id', '=', id).executeTakeFirst();
  if (!before) return null;
  const compiledChange = (set.rules !== undefined && set.rules !== before.rules) ||
    (set.enabled !== undefined && set.enabled !== Number(before.enabled));
  if (compiledChange) set.rules_generation = await recordChange(db, id);
  await db.updateTable('hunting_rulesets').set(set).where('id', '=', id).execute();
  if (set.owner_id !== undefined && set.owner_id !== Number(before.owner_id)) {
    await db.updateTable('hunting_notifications').set({ owner_id: set.owner_id }).where('ruleset_id', '=', id).execute();
    const ids = db.selectFrom('hunting_notifications').select('id').where('ruleset_id', '=', id);
    await db.updateTable('hunting_notification_tags').set({ owner_id: set.owner_id }).where('notification_id', 'in', ids).execute();
  }
  return get(db, id);
}

/** Inside a transaction: deletes the ruleset and its editors. Its notifications stay with their owner. */
export async function remove(db: Kysely<Database>, id: number): Promise<boolean> {
  await db.deleteFrom('hunting_ruleset_editors').where('ruleset_id', '=', id).execute();
  await db.deleteFrom('hunting_ruleset_groups').where('ruleset_id', '=', id).execute();
  const r = await db.deleteFrom('hunting_rulesets').where('id', '=', id).executeTakeFirst();
  if (Number(r.numDeletedRows) === 0) return false;
  await db.deleteFrom('pending_emails').where('ruleset_id', '=', id).execute();
  await recordChange(db, id);
  return true;
}

export async function recordSlowScan(db: Kysely<Database>, id: number, scan: SlowScan): Promise<void> {
  await db.updateTable('hunting_rulesets')
    .set((eb) => ({ slow_scans: eb('slow_scans', '+', 1), last_slow_scan: JSON.stringify(scan) }))
    .where('id', '=', id).execute();
}

export async function generation(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('counters').select('value').where('name', '=', 'rules_generation').executeTakeFirst();
  return Number(row?.value ?? 0);
}

/** Changes after `since` (a generation this caller saw); null when its row was pruned since. */
export async function changesSince(db: Kysely<Database>, since: number): Promise<{ generation: number; rulesetIds: number[] } | null> {
  // Sequences may skip values (PostgreSQL), so a gap in numbers proves nothing; the row of
  // `since` itself still being there proves that nothing after it was pruned.
  if (since > 0) {
    const seen = await db.selectFrom('ruleset_changes').select('generation').where('generation', '=', since).executeTakeFirst();
    if (!seen) return null;
  }
  const rows = await db.selectFrom('ruleset_changes').select(['generation', 'ruleset_id'])
    .where('generation', '>', since).orderBy('generation').execute();
  const last = rows[rows.length - 1];
  return { generation: last ? Number(last.generation) : since, rulesetIds: [...new Set(rows.map((r) => Number(r.ruleset_id)))] };
}

export async function enabledSources(db: Kysely<Database>, ids?: number[]): Promise<RulesetSource[]> {
  if (ids && ids.length === 0) return [];
  let q = db.selectFrom('hunting_rulesets').select(['id', 'rules_generation', 'rules', 'owner_id']).where('enabled', '=', 1);
  if (ids) q = q.where('id', 'in', ids);
  const rows = await q.orderBy('id').execute();
  return rows.map((r) => {
    const s: RulesetSource = { id: Number(r.id), generation: Number(r.rules_generation), rules: r.rules };
    if (Number(r.owner_id) === COMMUNITY_OWNER_ID) s.community = true;
    return s;
  });
}

export async function addEditor(db: Kysely<Database>, id: number, userId: number): Promise<void> {
  await db.insertInto('hunting_ruleset_editors').values({ ruleset_id: id, user_id: userId })
    .onConflict((oc) => oc.columns(['ruleset_id', 'user_id']).doNothing()).execute();
}

export async function removeEditor(db: Kysely<Database>, id: number, userId: number): Promise<boolean> {
  const r = await db.deleteFrom('hunting_ruleset_editors').where('ruleset_id', '=', id).where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
