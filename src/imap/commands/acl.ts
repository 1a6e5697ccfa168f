import type { Command, CommandSpec, Session } from '../session.js';
import { bad, no } from '../errors.js';
import { ALL_RIGHTS, decodeName, encodeName, qualify, resolve, type Resolved } from '../names.js';
import { astr } from '../writer.js';

/**
 * RFC 4314 ACL. Identifiers are full addresses (a bare local part is qualified like a login)
 * and "anyone". The owner, and the config's admins, always hold every right; the owner shows
 * in GETACL with them (as Cyrus lists "usr1 lrswipkxtecda").
 */
const RIGHTS = new Set(ALL_RIGHTS);

/** RFC 4314 2.1.1: the obsolete "c" and "d" stand for "k" and "xte". */
function normaliseRights(r: string): string {
  let out = '';
  for (const ch of r.toLowerCase()) {
    if (ch === 'c') out += 'k';
    else if (ch === 'd') out += 'xte';
    else if (RIGHTS.has(ch)) out += ch;
    else if (!/[0-9]/.test(ch)) throw bad(`unknown right "${ch}"`);
  }
  return [...ALL_RIGHTS].filter((x) => out.includes(x)).join('');
}

function identifier(s: Session, id: string): string {
  const l = id.toLowerCase();
  if (l === 'anyone' || l === 'authenticated') return l;
  if (l.startsWith('-')) throw no('negative rights are not supported', 'CANNOT');
  return qualify(s, l);
}

/** The mailbox named; its `display` is the name as the client wrote it (responses echo it). */
async function target(s: Session, c: Command, admin: boolean): Promise<Resolved> {
  const name = decodeName(s, c.args.astringBytes('mailbox name'));
  const r = await resolve(s, name);
  if (!r.mailbox) throw no(`no such mailbox ${name}`, 'NONEXISTENT');
  if (admin && !r.rights.includes('a')) throw no('permission denied (right "a" needed)', 'NOPERM');
  return { ...r, display: name };
}

export const aclCommands: Record<string, CommandSpec> = {
  SETACL: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const r = await target(s, c, true);
      const id = identifier(s, c.args.astring('identifier'));
      let rights = c.args.astring('rights');
      c.args.end();
      const mode = rights.startsWith('+') ? 'add' : rights.startsWith('-') ? 'remove' : 'set';
      const given = normaliseRights(mode === 'set' ? rights : rights.slice(1));
      if (id === r.owner.address) throw no('the owner always has every right', 'CANNOT');
      // One read-modify-write transaction: two SETACL +x/-y at once cannot lose either.
      rights = await s.ctx.store.modifyAcl(r.mailbox!.id, id, mode, given, ALL_RIGHTS);
    },
  },

  DELETEACL: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const r = await target(s, c, true);
      const id = identifier(s, c.args.astring('identifier'));
      c.args.end();
      await s.ctx.store.setAcl(r.mailbox!.id, id, null);
    },
  },

  GETACL: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const r = await target(s, c, true);
      c.args.end();
      const acl = await s.ctx.store.getAcl(r.mailbox!.id);
      const parts: (string | Buffer)[] = ['ACL ', ...encodeName(s, r.display)];
      parts.push(' ', ...astr(r.owner.address), ` ${ALL_RIGHTS}`);
      for (const e of acl) parts.push(' ', ...astr(e.identifier), ' ', ...astr(e.rights));
      s.untagged(...parts);
    },
  },

  LISTRIGHTS: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const r = await target(s, c, true);
      const idRaw = c.args.astring('identifier');
      c.args.end();
      const id = identifier(s, idRaw);
      // RFC 4314 3.7: required rights, then groups that may be granted.
      const required = id === r.owner.address ? ALL_RIGHTS : '';
      s.untagged('LISTRIGHTS ', ...encodeName(s, r.display), ' ', ...astr(idRaw), ` "${required}" ${[...ALL_RIGHTS].join(' ')}`);
    },
  },

  MYRIGHTS: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const r = await target(s, c, false);
      c.args.end();
      s.untagged('MYRIGHTS ', ...encodeName(s, r.display), ' ', ...(r.rights ? astr(r.rights) : ['""']));
    },
  },
};
