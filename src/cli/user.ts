// `trawl user ...`: user and API-key administration, run on the server machine against the
// configured database directly (like `createuser` for PostgreSQL).
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { openStore } from '../store/open-store.js';
import { addUser, requireUser, rotateKey } from '../users/user-admin.js';
import { applyQuotaChanges } from '../users/quota-settings.js';
import { printQuotas, quotaChangesOf, quotaFlagsUsage, quotaOptions } from './quota-flags.js';

export const userUsage = `trawl user add NAME [--admin] [--email ADDR]   create a user and print its API key
trawl user key NAME --rotate                    replace a user's API key and print the new one
trawl user list                                 list users
trawl user disable|enable NAME                  stop or allow a user's API access
trawl user delete NAME                          delete a user
trawl user quota NAME ${quotaFlagsUsage}
                                                set a user's own quotas; none: print them`;

export const userOptions = {
  admin: { type: 'boolean', default: false },
  email: { type: 'string' },
  rotate: { type: 'boolean', default: false },
  ...quotaOptions,
} as const;

export interface UserCommandOptions {
  config: Config;
  admin: boolean;
  email?: string;
  rotate: boolean;
  /** Every parsed flag (the quota flags among them). */
  values?: Record<string, unknown>;
  out: Writable;
  err: Writable;
}

export async function userCommand(args: string[], o: UserCommandOptions): Promise<number> {
  const [action, name] = args;
  const needsName = action !== 'list';
  if (!action || (needsName && !name)) {
    o.err.write(`usage:\n${userUsage}\n`);
    return 2;
  }
  const store = await openStore(o.config.databaseUrl, { poolSize: 2, preparedStatements: o.config.databasePreparedStatements });
  try {
    switch (action) {
      case 'add': {
        const { apikey } = await addUser(store, name!, { admin: o.admin, email: o.email ?? null });
        o.out.write(`${apikey}\n`);
        o.err.write(`created ${o.admin ? 'admin ' : ''}user "${name}"; the API key above is shown only once\n`);
        return 0;
      }
      case 'key': {
        if (!o.rotate) {
          o.err.write('API keys are stored hashed and cannot be shown again; use --rotate to issue a new one\n');
          return 2;
        }
        const { apikey } = await rotateKey(store, name!);
        o.out.write(`${apikey}\n`);
        o.err.write(`the previous key of "${name}" no longer works\n`);
        return 0;
      }
      case 'list': {
        for (let after = 0; ; ) {
          const page = await store.listUsers(after, 500);
          for (const u of page) o.out.write(`${u.username}\t${u.isAdmin ? 'admin' : 'user'}\t${u.disabled ? 'disabled' : 'active'}\n`);
          if (page.length < 500) return 0;
          after = page[page.length - 1]!.id;
        }
      }
      case 'disable':
      case 'enable': {
        const u = await requireUser(store, name!);
        await store.updateUser(u.id, { disabled: action === 'disable' });
        o.err.write(`user "${name}" ${action}d\n`);
        return 0;
      }
      case 'delete': {
        const u = await requireUser(store, name!);
        await store.deleteUser(u.id);
        o.err.write(`user "${name}" deleted\n`);
        return 0;
      }
      case 'quota': {
        const u = await requireUser(store, name!);
        await applyQuotaChanges(store, { kind: 'user', id: u.id }, quotaChangesOf(o.values ?? {}));
        printQuotas(o.out, await store.getQuotas({ kind: 'user', id: u.id }));
        return 0;
      }
      default:
        o.err.write(`unknown action "${action}"\nusage:\n${userUsage}\n`);
        return 2;
    }
  } finally {
    await store.close();
  }
}
