// Managing groups (spec 7.2): one set of functions behind `trawl group ...` and the admin
// endpoints of the API. A group is named like a user; its members share the rulesets shared with
// it, see each other's Retrohunt jobs, and share its quotas (users/quota-plans.ts).
import { TrawlError, invalidArgument } from '../model/errors.js';
import type { GroupRecord, Store, UserRecord } from '../store/store.js';
import { requireUser } from './user-admin.js';

const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export async function createGroup(store: Store, name: string): Promise<GroupRecord> {
  if (!GROUP_NAME.test(name)) throw invalidArgument(`invalid group name "${name}": use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`);
  return store.createGroup(name, Math.floor(Date.now() / 1000));
}

export async function requireGroup(store: Store, name: string): Promise<GroupRecord> {
  const g = await store.getGroupByName(name);
  if (!g) throw new TrawlError('NotFoundError', `group with id "${name}" not found`);
  return g;
}

/** Adds `username` to the group (or changes whether they administer it). */
export async function addMember(store: Store, group: string, username: string, admin = false): Promise<{ group: GroupRecord; user: UserRecord }> {
  const [g, u] = await Promise.all([requireGroup(store, group), requireUser(store, username)]);
  await store.setGroupMember(g.id, u.id, admin);
  return { group: g, user: u };
}

export async function removeMember(store: Store, group: string, username: string): Promise<void> {
  const [g, u] = await Promise.all([requireGroup(store, group), requireUser(store, username)]);
  if (!(await store.removeGroupMember(g.id, u.id))) throw new TrawlError('NotFoundError', `user "${username}" is not a member of group "${group}"`);
}

/** Whether two users share a group (they then see each other's Retrohunt jobs). */
export async function shareAGroup(store: Store, a: number, b: number): Promise<boolean> {
  if (a === b) return true;
  const [ga, gb] = await Promise.all([store.groupsOf(a), store.groupsOf(b)]);
  return ga.some((g) => gb.some((h) => h.id === g.id));
}

/** Users who share a group with `userId`, themself included. */
export async function groupMatesOf(store: Store, userId: number): Promise<number[]> {
  const ids = new Set([userId]);
  for (const g of await store.groupsOf(userId)) for (const m of await store.groupMembers(g.id)) ids.add(m.userId);
  return [...ids].sort((x, y) => x - y);
}
