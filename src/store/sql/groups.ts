// Groups (spec 7.2), their members, and rulesets shared with them, as queries on a Kysely
// database (used by sql-store.ts).
import type { Kysely } from 'kysely';
import type { GroupMember, GroupRecord } from '../../model/quotas.js';
import type { Database } from './schema.js';

const toGroup = (r: { id: number | string; name: string; created_at: number | string }): GroupRecord =>
  ({ id: Number(r.id), name: r.name, createdAt: Number(r.created_at) });

export async function create(db: Kysely<Database>, name: string, createdAt: number): Promise<GroupRecord> {
  return toGroup(await db.insertInto('user_groups').values({ name, created_at: createdAt }).returningAll().executeTakeFirstOrThrow());
}

export async function byName(db: Kysely<Database>, name: string): Promise<GroupRecord | null> {
  const r = await db.selectFrom('user_groups').selectAll().where('name', '=', name).executeTakeFirst();
  return r ? toGroup(r) : null;
}

export async function list(db: Kysely<Database>): Promise<GroupRecord[]> {
  return (await db.selectFrom('user_groups').selectAll().orderBy('id').execute()).map(toGroup);
}

/** Inside a transaction: the group, its memberships, its quotas and its shares of rulesets. */
export async function remove(db: Kysely<Database>, id: number): Promise<boolean> {
  await db.deleteFrom('group_members').where('group_id', '=', id).execute();
  await db.deleteFrom('hunting_ruleset_groups').where('group_id', '=', id).execute();
  await db.deleteFrom('quotas').where('subject', '=', 'group').where('subject_id', '=', id).execute();
  const r = await db.deleteFrom('user_groups').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function setMember(db: Kysely<Database>, groupId: number, userId: number, isAdmin: boolean): Promise<void> {
  await db.insertInto('group_members').values({ group_id: groupId, user_id: userId, is_admin: isAdmin ? 1 : 0 })
    .onConflict((oc) => oc.columns(['group_id', 'user_id']).doUpdateSet({ is_admin: isAdmin ? 1 : 0 })).execute();
}

export async function removeMember(db: Kysely<Database>, groupId: number, userId: number): Promise<boolean> {
  const r = await db.deleteFrom('group_members').where('group_id', '=', groupId).where('user_id', '=', userId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function members(db: Kysely<Database>, groupId: number): Promise<GroupMember[]> {
  const rows = await db.selectFrom('group_members').select(['user_id', 'is_admin']).where('group_id', '=', groupId).orderBy('user_id').execute();
  return rows.map((r) => ({ userId: Number(r.user_id), isAdmin: Number(r.is_admin) === 1 }));
}

export async function of(db: Kysely<Database>, userId: number): Promise<GroupRecord[]> {
  const rows = await db.selectFrom('group_members as m').innerJoin('user_groups as g', 'g.id', 'm.group_id')
    .select(['g.id', 'g.name', 'g.created_at']).where('m.user_id', '=', userId).orderBy('g.id').execute();
  return rows.map(toGroup);
}

export async function shareRuleset(db: Kysely<Database>, rulesetId: number, groupId: number): Promise<void> {
  await db.insertInto('hunting_ruleset_groups').values({ ruleset_id: rulesetId, group_id: groupId })
    .onConflict((oc) => oc.columns(['ruleset_id', 'group_id']).doNothing()).execute();
}

export async function unshareRuleset(db: Kysely<Database>, rulesetId: number, groupId: number): Promise<boolean> {
  const r = await db.deleteFrom('hunting_ruleset_groups').where('ruleset_id', '=', rulesetId).where('group_id', '=', groupId).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}
