// Managing users and their API keys: one set of functions behind `trawl user ...` and the admin
// endpoints of the API.
import { hashApiKey, newApiKey } from './api-keys.js';
import { TrawlError, invalidArgument } from '../model/errors.js';
import type { Store, UserRecord } from '../store/store.js';

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface UserWithKey {
  user: UserRecord;
  /** The plain API key: shown once, never stored. */
  apikey: string;
}

export function checkUsername(name: string): void {
  if (!USERNAME.test(name) || /^[0-9a-f]{64}$/.test(name)) {
    throw invalidArgument(`invalid username "${name}": use 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`);
  }
}

export async function addUser(store: Store, username: string, opts: { admin?: boolean; email?: string | null } = {}): Promise<UserWithKey> {
  checkUsername(username);
  const apikey = newApiKey();
  const user = await store.createUser({
    username,
    isAdmin: opts.admin ?? false,
    apikeyHash: hashApiKey(apikey),
    email: opts.email ?? null,
    createdAt: Math.floor(Date.now() / 1000),
  });
  return { user, apikey };
}

export async function requireUser(store: Store, username: string): Promise<UserRecord> {
  const user = await store.getUserByName(username);
  if (!user) throw new TrawlError('NotFoundError', `user with id "${username}" not found`);
  return user;
}

/** Replaces a user's API key; the old one stops working at once. */
export async function rotateKey(store: Store, username: string): Promise<UserWithKey> {
  const user = await requireUser(store, username);
  const apikey = newApiKey();
  const updated = await store.updateUser(user.id, { apikeyHash: hashApiKey(apikey) });
  return { user: updated ?? user, apikey };
}

/** Creates the first admin when the database has no user yet; returns its key, or null. */
export async function ensureFirstAdmin(store: Store): Promise<UserWithKey | null> {
  if ((await store.countUsers()) > 0) return null;
  try {
    return await addUser(store, 'admin', { admin: true });
  } catch (e) {
    // Another process created it first.
    if (e instanceof TrawlError && e.code === 'AlreadyExistsError') return null;
    throw e;
  }
}
