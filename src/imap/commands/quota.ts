import type { CommandSpec, Session } from '../session.js';
import { no } from '../errors.js';
import { decodeName, qualify, resolve } from '../names.js';
import type { User } from '../../store/types.js';
import { astr } from '../writer.js';

/**
 * RFC 9208 QUOTA. One quota root per user, named "user.ADDRESS" (Cyrus's form, which cyradm
 * prints and accepts), holding STORAGE (units of 1024 octets) and MESSAGE for all the
 * user's mailboxes. Users read their own; admins read and set anyone's.
 */
export function rootName(address: string): string {
  return `user.${address}`;
}

async function userOfRoot(s: Session, root: string): Promise<User> {
  const me = s.user!;
  if (root === '' || root.toLowerCase() === rootName(me.address)) return { id: me.id, address: me.address };
  const m = /^user[./](.+)$/i.exec(root);
  if (!m) throw no(`no such quota root ${root}`, 'NONEXISTENT');
  const addr = qualify(s, m[1].split('/')[0]);
  if (addr !== me.address && !me.admin) throw no('permission denied', 'NOPERM');
  const u = await s.ctx.store.getUser(addr);
  if (!u) throw no(`no such quota root ${root}`, 'NONEXISTENT');
  return u;
}

/** Whether the user has any limit: without one there is no quota root (RFC 9208 3.2, issue 10.11). */
async function limited(s: Session, u: User): Promise<boolean> {
  const q = await s.ctx.store.getQuota(u.id);
  return q.storageLimit !== null || q.messageLimit !== null;
}

async function quotaLine(s: Session, u: User, asNamed?: string): Promise<void> {
  const q = await s.ctx.store.getQuota(u.id);
  const res: string[] = [];
  if (q.storageLimit !== null) res.push(`STORAGE ${Math.ceil(q.bytes / 1024)} ${q.storageLimit}`);
  if (q.messageLimit !== null) res.push(`MESSAGE ${q.messages} ${q.messageLimit}`);
  s.untagged('QUOTA ', ...astr(asNamed ?? rootName(u.address)), ` (${res.join(' ')})`);
}

export const quotaCommands: Record<string, CommandSpec> = {
  GETQUOTA: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const root = c.args.astring('quota root');
      c.args.end();
      const u = await userOfRoot(s, root);
      // An empty resource list draws as a full or empty bar in clients (Roundcube): no limit, no root.
      if (!(await limited(s, u))) throw no(`no such quota root ${root} (no limit set)`, 'NONEXISTENT');
      await quotaLine(s, u, root);
    },
  },

  GETQUOTAROOT: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const name = decodeName(s, c.args.astringBytes('mailbox name'));
      c.args.end();
      const r = await resolve(s, name);
      if (!r.mailbox) throw no(`no such mailbox ${name}`, 'NONEXISTENT');
      // RFC 9208 4.2: a mailbox without quota root gets a QUOTAROOT response naming none.
      if (!(await limited(s, r.owner))) {
        s.untagged('QUOTAROOT ', ...astr(name));
        return;
      }
      const root = rootName(r.owner.address);
      s.untagged('QUOTAROOT ', ...astr(name), ' ', ...astr(root));
      if (r.own || s.user!.admin) await quotaLine(s, r.owner);
    },
  },

  // RFC 9208 4.3: admins only.
  SETQUOTA: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const root = c.args.astring('quota root');
      const l = c.args.list('resource limits');
      c.args.end();
      if (!s.user!.admin) throw no('only administrators set quotas', 'NOPERM');
      const u = await userOfRoot(s, root);
      let storage: number | null = null;
      let messages: number | null = null;
      while (!l.done) {
        const res = l.keyword('resource name');
        const n = l.number('limit');
        if (res === 'STORAGE') storage = n;
        else if (res === 'MESSAGE') messages = n;
        else throw no(`resource ${res} is not supported`, 'CANNOT');
      }
      // RFC 9208 4.3: resources not named lose their limit.
      await s.ctx.store.setQuota(u.id, storage, messages);
      await quotaLine(s, u, root);
    },
  },
};
