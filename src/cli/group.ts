// `trawl group ...`: groups (spec 7.2) and their quotas, run on the server machine against the
// configured database directly, like `trawl user`. API processes see changes within 5 s.
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { openStore } from '../store/open-store.js';
import { addMember, createGroup, removeMember, requireGroup } from '../users/groups.js';
import { applyQuotaChanges } from '../users/quota-settings.js';
import { printQuotas, quotaChangesOf, quotaFlagsUsage, quotaOptions } from './quota-flags.js';

export const groupUsage = `trawl group create NAME                          create a group
trawl group add NAME USER [--admin]             add a member (--admin: a group administrator)
trawl group remove NAME USER                    remove a member
trawl group list [NAME]                         list groups, or a group's members
trawl group delete NAME                         delete a group (its members stay)
trawl group quota NAME ${quotaFlagsUsage}
                                                set quotas shared by the members; none: print them`;

export const groupOptions = { admin: { type: 'boolean', default: false }, ...quotaOptions } as const;

export async function groupCommand(args: string[], o: { config: Config; values: Record<string, unknown>; out: Writable; err: Writable }): Promise<number> {
  const [action, name, user] = args;
  const arity: Record<string, number> = { create: 1, add: 2, remove: 2, list: 0, delete: 1, quota: 1 };
  if (!action || arity[action] === undefined || args.length - 1 < arity[action]!) {
    o.err.write(`usage:\n${groupUsage}\n`);
    return 2;
  }
  const store = await openStore(o.config.databaseUrl, { poolSize: 2, preparedStatements: o.config.databasePreparedStatements });
  try {
    switch (action) {
      case 'create':
        await createGroup(store, name!);
        o.err.write(`created group "${name}"\n`);
        return 0;
      case 'add':
        await addMember(store, name!, user!, o.values.admin === true);
        o.err.write(`"${user}" is a member${o.values.admin === true ? ' and administrator' : ''} of "${name}"\n`);
        return 0;
      case 'remove':
        await removeMember(store, name!, user!);
        o.err.write(`"${user}" is no longer a member of "${name}"\n`);
        return 0;
      case 'list': {
        if (name) {
          const g = await requireGroup(store, name);
          for (const m of await store.groupMembers(g.id)) {
            const u = await store.getUserById(m.userId);
            if (u) o.out.write(`${u.username}\t${m.isAdmin ? 'administrator' : 'member'}\n`);
          }
          return 0;
        }
        for (const g of await store.listGroups()) o.out.write(`${g.name}\t${(await store.groupMembers(g.id)).length} members\n`);
        return 0;
      }
      case 'delete': {
        const g = await requireGroup(store, name!);
        await store.deleteGroup(g.id);
        o.err.write(`group "${name}" deleted\n`);
        return 0;
      }
      default: {
        const g = await requireGroup(store, name!);
        const changes = quotaChangesOf(o.values);
        await applyQuotaChanges(store, { kind: 'group', id: g.id }, changes);
        printQuotas(o.out, await store.getQuotas({ kind: 'group', id: g.id }));
        return 0;
      }
    }
  } finally {
    await store.close();
  }
}
