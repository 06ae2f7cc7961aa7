// Hunting rulesets (spec 2): who may see and change them, validation of their rules when saved,
// and listing with the filter/order grammar. API routes and the CLI call these functions.
import { TrawlError, badRequest, forbidden, invalidArgument, objectNotFound } from '../../model/errors.js';
import type { GroupRecord, RulesetRecord, Store, UserRecord } from '../../store/store.js';
import { checkRulesetAttributes } from './ruleset-attributes.js';
import { compareRulesets, parseRulesetFilter, parseRulesetOrder, sortKey } from './ruleset-filter.js';
import type { RuleCompiler } from '../engine/rule-compiler.js';
import type { RulesetDiagnosis } from './rule-validation.js';
import type { SharedRulesets } from './shared-rulesets.js';

export interface HuntingRulesetOptions {
  /** Largest ruleset source accepted, in bytes. */
  maxRulesBytes: number;
  /** `limit` of a ruleset created without one. */
  defaultLimit: number;
}

export interface RulesetPage {
  items: RulesetRecord[];
  /** Position after the last item, for the next page; undefined on the last page. */
  next?: { k: string | number; id: number };
}

const now = () => Math.floor(Date.now() / 1000);

export class HuntingRulesets {
  constructor(
    private readonly store: Store,
    private readonly compiler: RuleCompiler,
    private readonly opts: HuntingRulesetOptions,
    /** Told of every change to who edits or owns a ruleset, so that pages see it at once. */
    private readonly sharing: SharedRulesets,
  ) {}

  /** Owner or editor (directly or as a member of a group it is shared with); anyone else is told the ruleset does not exist. */
  async visible(user: UserRecord, id: string): Promise<RulesetRecord> {
    const r = /^\d{1,15}$/.test(id) ? await this.store.getRuleset(Number(id)) : null;
    if (!r || (r.ownerId !== user.id && !r.editorIds.includes(user.id) && !r.groupMemberIds.includes(user.id))) throw objectNotFound('HuntingRuleset', id);
    return r;
  }

  /** Compiles the rules on the compiler thread (never on the event loop); returns the rule names. */
  private async compile(rules: string): Promise<string[]> {
    return (await this.compiler.validate(rules, this.opts.maxRulesBytes)).ruleNames;
  }

  /**
   * What the web editor shows while a ruleset is typed: the same checks as saving (engine errors,
   * slow patterns, the speed probe), each problem with its line and column; nothing is stored.
   */
  async diagnose(attributes: unknown): Promise<RulesetDiagnosis> {
    const rules = (attributes as { rules?: unknown } | null)?.rules;
    if (typeof rules !== 'string') throw invalidArgument('"rules" must be a string');
    return this.compiler.diagnose(rules, this.opts.maxRulesBytes);
  }

  /** Names are unique per owner, whoever (owner or editor) names the ruleset. */
  private async checkNameFree(ownerId: number, name: string, except?: number): Promise<void> {
    const same = await this.store.findRulesetByName(ownerId, name);
    if (same && same.id !== except) throw new TrawlError('AlreadyExistsError', `a ruleset named "${name}" already exists`);
  }

  async create(user: UserRecord, attributes: unknown): Promise<RulesetRecord> {
    const a = checkRulesetAttributes(attributes);
    if (a.name === undefined || a.rules === undefined) throw invalidArgument('"name" and "rules" are required');
    const ruleNames = await this.compile(a.rules);
    await this.checkNameFree(user.id, a.name);
    const date = now();
    return this.store.createRuleset({
      ownerId: user.id,
      name: a.name,
      rules: a.rules,
      enabled: a.enabled ?? false,
      limit: a.limit ?? this.opts.defaultLimit,
      notificationEmails: a.notification_emails ?? [],
      matchObjectType: a.match_object_type ?? 'file',
      tags: a.tags ?? [],
      ruleNames,
      creationDate: date,
      modificationDate: date,
    });
  }

  async update(user: UserRecord, id: string, attributes: unknown, current: Record<string, unknown>): Promise<RulesetRecord> {
    const r = await this.visible(user, id);
    const a = checkRulesetAttributes(attributes, current);
    if (a.name !== undefined && a.name !== r.name) await this.checkNameFree(r.ownerId, a.name, r.id);
    const updated = await this.store.updateRuleset(r.id, {
      name: a.name,
      rules: a.rules,
      ruleNames: a.rules === undefined ? undefined : await this.compile(a.rules),
      enabled: a.enabled,
      limit: a.limit,
      notificationEmails: a.notification_emails,
      matchObjectType: a.match_object_type,
      tags: a.tags,
      modificationDate: now(),
    });
    if (!updated) throw objectNotFound('HuntingRuleset', id);
    return updated;
  }

  /** Only the owner deletes a ruleset; an editor is refused. */
  async delete(user: UserRecord, id: string): Promise<void> {
    const r = await this.visible(user, id);
    if (r.ownerId !== user.id) throw forbidden('only the owner can delete a ruleset');
    await this.store.deleteRuleset(r.id);
    this.sharing.changed();
  }

  /** DELETE of the collection: the caller's own rulesets go; they stop editing others'. */
  async deleteAll(user: UserRecord, confirmation: string | undefined): Promise<number> {
    if (confirmation !== user.username) throw badRequest('Send a x-confirm-delete header with your username as a confirmation');
    let deleted = 0;
    try {
      for (const r of await this.store.listRulesetsOf(user.id)) {
        if (r.ownerId === user.id) deleted += (await this.store.deleteRuleset(r.id)) ? 1 : 0;
        else await this.store.removeRulesetEditor(r.id, user.id);
      }
    } finally {
      this.sharing.changed();
    }
    return deleted;
  }

  private async owned(user: UserRecord, id: string): Promise<RulesetRecord> {
    const r = await this.visible(user, id);
    if (r.ownerId !== user.id) throw forbidden('only the owner of a ruleset can change who may edit or own it');
    return r;
  }

  private async userNamed(name: string): Promise<UserRecord> {
    const u = await this.store.getUserByName(name);
    if (!u) throw objectNotFound('User', name);
    return u;
  }

  /** Grants edit rights to users (by username); the owner only. */
  async grantEditors(user: UserRecord, id: string, usernames: string[]): Promise<void> {
    const r = await this.owned(user, id);
    const users = await Promise.all(usernames.map((n) => this.userNamed(n)));
    try {
      for (const u of users) if (u.id !== r.ownerId) await this.store.addRulesetEditor(r.id, u.id);
    } finally {
      this.sharing.changed();
    }
  }

  async isEditor(user: UserRecord, id: string, username: string): Promise<boolean> {
    const r = await this.visible(user, id);
    const u = await this.store.getUserByName(username);
    if (u) return r.editorIds.includes(u.id) || r.groupMemberIds.includes(u.id);
    const g = await this.store.getGroupByName(username);
    return !!g && r.editorGroupIds.includes(g.id);
  }

  /** Shares the ruleset with groups (by name; spec 7.2): their members edit it. The owner only. */
  async grantGroups(user: UserRecord, id: string, names: string[]): Promise<void> {
    const r = await this.owned(user, id);
    const groups = await Promise.all(names.map(async (n) => (await this.store.getGroupByName(n)) ?? Promise.reject(objectNotFound('Group', n))));
    try {
      for (const g of groups) await this.store.addRulesetGroup(r.id, g.id);
    } finally {
      this.sharing.changed();
    }
  }

  /** The groups the ruleset is shared with. */
  async editorGroups(user: UserRecord, id: string): Promise<GroupRecord[]> {
    const r = await this.visible(user, id);
    if (r.editorGroupIds.length === 0) return [];
    return (await this.store.listGroups()).filter((g) => r.editorGroupIds.includes(g.id));
  }

  /**
   * Revokes edit rights: the owner for anyone, an editor for themself. `name` is a user editor,
   * else a group the ruleset is shared with (the owner only).
   */
  async revokeEditor(user: UserRecord, id: string, name: string): Promise<void> {
    const r = name === user.username ? await this.visible(user, id) : await this.owned(user, id);
    const u = await this.store.getUserByName(name);
    let removed = !!u && (await this.store.removeRulesetEditor(r.id, u.id));
    if (!removed && name !== user.username) {
      const g = await this.store.getGroupByName(name);
      removed = !!g && (await this.store.removeRulesetGroup(r.id, g.id));
    }
    this.sharing.changed();
    if (!removed) throw objectNotFound('Editor', name);
  }

  async owner(user: UserRecord, id: string): Promise<UserRecord | null> {
    return this.store.getUserById((await this.visible(user, id)).ownerId);
  }

  async editors(user: UserRecord, id: string): Promise<UserRecord[]> {
    const r = await this.visible(user, id);
    return (await Promise.all(r.editorIds.map((e) => this.store.getUserById(e)))).filter((u): u is UserRecord => !!u);
  }

  /** Hands the ruleset to another user; the previous owner stays on as an editor. */
  async transfer(user: UserRecord, id: string, username: string): Promise<RulesetRecord> {
    const r = await this.owned(user, id);
    const to = await this.userNamed(username);
    if (to.id === r.ownerId) return r;
    await this.checkNameFree(to.id, r.name);
    try {
      await this.store.updateRuleset(r.id, { ownerId: to.id, modificationDate: now() });
      await this.store.removeRulesetEditor(r.id, to.id);
      await this.store.addRulesetEditor(r.id, user.id);
    } finally {
      this.sharing.changed();
    }
    return (await this.store.getRuleset(r.id))!;
  }

  /** One page of the rulesets `user` owns or edits, filtered and ordered. */
  async list(user: UserRecord, q: { filter?: string; order?: string; limit: number; after?: { k: string | number; id: number } }): Promise<RulesetPage> {
    const keep = parseRulesetFilter(q.filter);
    const order = parseRulesetOrder(q.order);
    const cmp = compareRulesets(order);
    const all = (await this.store.listRulesetsOf(user.id)).filter(keep).sort(cmp);
    let start = 0;
    if (q.after) {
      const probe = { id: q.after.id, name: String(q.after.k), creationDate: Number(q.after.k), modificationDate: Number(q.after.k) } as RulesetRecord;
      start = all.findIndex((r) => cmp(r, probe) > 0);
      if (start < 0) start = all.length;
    }
    const items = all.slice(start, start + q.limit);
    const last = items[items.length - 1];
    return { items, next: last && start + q.limit < all.length ? { k: sortKey(last, order), id: last.id } : undefined };
  }
}
