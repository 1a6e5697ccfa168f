import type { Mailbox, User } from '../store/types.js';
import { decodeMutf7, encodeMutf7 } from './mutf7.js';
import { bad, no, type ImapError } from './errors.js';
import { astr, type Piece } from './writer.js';
import type { Session } from './session.js';

/**
 * Mailbox names and namespaces (RFC 9051 5.1, RFC 2342):
 *   personal     ""              INBOX, Sent, Archive/2026 ...      hierarchy separator "/"
 *   other users  "Other Users/"  Other Users/usr1@example.test/INBOX (mailboxes shared by ACL)
 * Admins (config `admins`) also reach any user's mailboxes with the Cyrus form cyradm uses:
 *   user.NAME         -> NAME's INBOX        (NAME: full address, or a local part of the first domain)
 *   user.NAME/Sent    -> NAME's Sent         (sub-folders after "/": addresses contain dots)
 */
export const SEP = '/';
export const OTHER_USERS = 'Other Users';
export const ALL_RIGHTS = 'lrswipkxtecda';

/** A mailbox name from the client (mUTF-7 unless UTF-8 was enabled), in Unicode, INBOX canonical. */
export function decodeName(s: Session, raw: Buffer): string {
  let name: string;
  if (s.utf8) {
    name = raw.toString('utf8');
    if (Buffer.from(name, 'utf8').compare(raw) !== 0) throw bad('mailbox name is not valid UTF-8');
  } else {
    const t = raw.toString('latin1');
    const d = decodeMutf7(t);
    if (d === null) throw no(`mailbox name ${JSON.stringify(t)} is not valid modified UTF-7 (RFC 3501 5.1.3)`, 'CANNOT');
    name = d;
  }
  if (/^inbox$/i.test(name)) return 'INBOX';
  if (/^inbox\//i.test(name)) return 'INBOX' + name.slice(5);
  return name;
}

export function encodeName(s: Session, name: string): Piece[] {
  return astr(s.utf8 ? name : encodeMutf7(name), s.utf8);
}

/** Names a user may create: no empty, "." or ".." levels, no control characters or wildcards. */
export function checkNewName(name: string): void {
  if (!name.length) throw no('empty mailbox name', 'CANNOT');
  if (name.length > 512) throw no('mailbox name too long', 'CANNOT');
  if (/[\x00-\x1f\x7f]/.test(name)) throw no('control characters in mailbox name', 'CANNOT');
  if (/[*%]/.test(name)) throw no('wildcards in mailbox name', 'CANNOT');
  const parts = name.split(SEP);
  if (parts.some((p) => p === '' || p === '.' || p === '..')) throw no('empty, "." or ".." level in mailbox name', 'CANNOT');
  if (parts[0] === OTHER_USERS) throw no(`"${OTHER_USERS}" is the shared-mailbox namespace`, 'CANNOT');
}

export interface Resolved {
  owner: User;
  /** Name inside the owner's tree. */
  local: string;
  mailbox: Mailbox | null;
  /** RFC 4314 rights of the session's user. */
  rights: string;
  /** The name as the client sees it. */
  display: string;
  own: boolean;
}

/** Where a client's mailbox name points: the session's own tree, another user's, or nowhere. */
export async function resolve(s: Session, name: string): Promise<Resolved> {
  const me = s.user!;
  const store = s.ctx.store;
  let ownerAddr = me.address;
  let local = name;
  if (name === OTHER_USERS || name.startsWith(OTHER_USERS + SEP)) {
    const rest = name.slice(OTHER_USERS.length + 1);
    const i = rest.indexOf(SEP);
    ownerAddr = (i < 0 ? rest : rest.slice(0, i)).toLowerCase();
    local = i < 0 ? '' : rest.slice(i + 1);
    if (/^inbox$/i.test(local)) local = 'INBOX';
  } else if (me.admin) {
    const m = /^user\.([^/]+)(?:\/(.*))?$/i.exec(name);
    if (m) {
      ownerAddr = qualify(s, m[1]);
      local = m[2] === undefined || /^inbox$/i.test(m[2]) ? 'INBOX' : m[2];
    }
  }
  const owner = ownerAddr === me.address ? { id: me.id, address: me.address } : await store.getUser(ownerAddr);
  // Admins may learn which accounts exist; others get the answer of a hidden mailbox.
  if (!owner) throw me.admin ? no(`no such user ${ownerAddr}`, 'NONEXISTENT') : hidden();
  const own = owner.id === me.id;
  const mailbox = local ? await store.getMailbox(owner.id, local) : null;
  let rights = ALL_RIGHTS;
  if (!own && !me.admin) {
    rights = mailbox ? await rightsOf(s, mailbox.id) : '';
    // RFC 4314 6: without "l" (or "r"), the mailbox's existence is not revealed.
    if (!rights.includes('l') && !rights.includes('r')) throw hidden();
  }
  const display = own ? local : `${OTHER_USERS}${SEP}${owner.address}${local ? SEP + local : ''}`;
  return { owner, local, mailbox, rights, display, own };
}

/**
 * RFC 4314 6: one answer for a name in another user's tree that the user may not know about,
 * whether the user, the mailbox or the right to see it is missing (issue 9 item 8: "no such
 * user" for unknown accounts told which accounts exist).
 */
export function hidden(): ImapError {
  return no('no such mailbox', 'NONEXISTENT');
}

export async function rightsOf(s: Session, mailboxId: number): Promise<string> {
  const acl = await s.ctx.store.getAcl(mailboxId);
  const me = s.user!.address;
  let r = '';
  for (const e of acl) if (e.identifier === me || e.identifier === 'anyone' || e.identifier === 'authenticated') r += e.rights;
  return [...new Set(r)].join('');
}

/**
 * A Cyrus user name (user.NAME of cm, lam, sam, sq, lq, dm) or an ACL identifier: a bare local
 * part means the primary domain, the first of `domains` (issue 10.10: the seed writes
 * `cm user.juan` on a server with several domains, as Cyrus's unqualified user names).
 */
export function qualify(s: Session, login: string): string {
  const l = login.toLowerCase();
  if (!l.includes('@') && s.ctx.config.domains.length) return `${l}@${s.ctx.config.domains[0]}`;
  return l;
}

/**
 * RFC 4314 4: on APPEND, COPY and MOVE, flags the user has no right to set are dropped
 * silently: \Seen needs "s", \Deleted "t", any other flag or keyword "w".
 */
export function permittedFlags(rights: string, flags: string[]): string[] {
  return flags.filter((f) => rights.includes(f === '\\Seen' ? 's' : f === '\\Deleted' ? 't' : 'w'));
}

export function need(r: Resolved, right: string, what: string): void {
  if (!r.rights.includes(right)) throw no(`${what}: permission denied (right "${right}" needed)`, 'NOPERM');
}
