// Quotas of users and groups and the usage counted against them (model/quotas.ts), as queries on
// a Kysely database (used by sql-store.ts). Counts are added with upserts, so any number of
// processes add to one row without losing an increment.
import { sql, type Kysely } from 'kysely';
import { QUOTA_NAMES, type QuotaLimits, type QuotaName } from '../../model/quotas.js';
import type { Database } from './schema.js';

export type QuotaSubject = { kind: 'user' | 'group'; id: number };

export async function set(db: Kysely<Database>, s: QuotaSubject, name: QuotaName, allowed: number | null): Promise<void> {
  if (allowed === null) {
    await db.deleteFrom('quotas').where('subject', '=', s.kind).where('subject_id', '=', s.id).where('name', '=', name).execute();
    return;
  }
  await db.insertInto('quotas').values({ subject: s.kind, subject_id: s.id, name, allowed })
    .onConflict((oc) => oc.columns(['subject', 'subject_id', 'name']).doUpdateSet({ allowed })).execute();
}

export async function of(db: Kysely<Database>, s: QuotaSubject): Promise<QuotaLimits> {
  const rows = await db.selectFrom('quotas').select(['name', 'allowed']).where('subject', '=', s.kind).where('subject_id', '=', s.id).execute();
  const out: QuotaLimits = {};
  for (const r of rows) if ((QUOTA_NAMES as readonly string[]).includes(r.name)) out[r.name as QuotaName] = Number(r.allowed);
  return out;
}

export async function addDaily(db: Kysely<Database>, rows: { userId: number; day: number; bucket: string; count: number }[]): Promise<void> {
  for (const r of rows) {
    await db.insertInto('usage_daily').values({ user_id: r.userId, day: r.day, bucket: r.bucket, count: r.count })
      .onConflict((oc) => oc.columns(['user_id', 'day', 'bucket']).doUpdateSet({ count: sql`usage_daily.count + excluded.count` })).execute();
  }
}

export async function addMinutes(db: Kysely<Database>, rows: { userId: number; minute: number; count: number }[], dropBefore: number): Promise<void> {
  for (const r of rows) {
    await db.insertInto('usage_minutes').values({ user_id: r.userId, minute: r.minute, count: r.count })
      .onConflict((oc) => oc.columns(['user_id', 'minute']).doUpdateSet({ count: sql`usage_minutes.count + excluded.count` })).execute();
  }
  await db.deleteFrom('usage_minutes').where('minute', '<', dropBefore).execute();
}

/**
 * Per user of `userIds`, the sum of their buckets over days [from, to]: `bucket` alone, or
 * every API request bucket (those not named `quota:...`).
 */
export async function totals(db: Kysely<Database>, userIds: readonly number[], from: number, to: number, bucket?: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (userIds.length === 0) return out;
  let q = db.selectFrom('usage_daily').select(['user_id', (eb) => eb.fn.sum<number | string>('count').as('n')])
    .where('user_id', 'in', [...userIds]).where('day', '>=', from).where('day', '<=', to);
  q = bucket === undefined ? q.where('bucket', 'not like', 'quota:%') : q.where('bucket', '=', bucket);
  for (const r of await q.groupBy('user_id').execute()) out.set(Number(r.user_id), Number(r.n));
  return out;
}

export async function minuteTotals(db: Kysely<Database>, userIds: readonly number[], minute: number): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  if (userIds.length === 0) return out;
  const rows = await db.selectFrom('usage_minutes').select(['user_id', 'count']).where('user_id', 'in', [...userIds]).where('minute', '=', minute).execute();
  for (const r of rows) out.set(Number(r.user_id), Number(r.count));
  return out;
}

export async function daily(db: Kysely<Database>, userId: number, from: number, to: number): Promise<{ day: number; bucket: string; count: number }[]> {
  const rows = await db.selectFrom('usage_daily').select(['day', 'bucket', 'count']).where('user_id', '=', userId)
    .where('day', '>=', from).where('day', '<=', to).orderBy('day').orderBy('bucket').execute();
  return rows.map((r) => ({ day: Number(r.day), bucket: r.bucket, count: Number(r.count) }));
}
