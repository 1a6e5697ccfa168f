import type { CommandSpec, Session } from '../session.js';
import type { Args } from '../args.js';
import { bad, no } from '../errors.js';
import { ALL_RIGHTS, checkNewName, decodeName, encodeName, need, OTHER_USERS, resolve, rightsOf, SEP, qualify, type Resolved } from '../names.js';
import { decodeMutf7 } from '../mutf7.js';
import { SelectedMailbox, flagsResponses } from '../selected.js';
import { parseSequenceSet, resolveRanges, inRanges, formatSet } from '../sequence.js';
import type { Mailbox } from '../../store/types.js';
import { astr, type Piece } from '../writer.js';
import { enableCondstore } from '../condstore.js';
import { Wildcard } from '../wildcard.js';
import { mailboxObjectId } from '../objectid.js';

const AUTHED = ['authenticated', 'selected'] as const;
const SPECIAL_USES = ['\\All', '\\Archive', '\\Drafts', '\\Flagged', '\\Junk', '\\Sent', '\\Trash'];

function nameArg(s: Session, a: Args, what = 'mailbox name'): string {
  return decodeName(s, a.astringBytes(what));
}

// ---------------------------------------------------------------- SELECT / EXAMINE (RFC 9051 6.3.2, 6.3.3; RFC 7162 3.1.8, 3.2.5)

async function select(s: Session, c: Parameters<CommandSpec['run']>[1], examine: boolean) {
  const name = nameArg(s, c.args);
  let condstore = false;
  let qresync: { validity: number; modseq: number; known: string | null; seqMatch: [string, string] | null } | null = null;
  if (!c.args.done) {
    const p = c.args.list('select parameters');
    while (!p.done) {
      const k = p.keyword('select parameter');
      if (k === 'CONDSTORE') condstore = true;
      else if (k === 'QRESYNC') {
        if (!s.enabled.has('QRESYNC')) throw bad('QRESYNC must be enabled first (RFC 7162 3.2.5)');
        const q = p.list('QRESYNC parameters');
        const validity = q.number('UIDVALIDITY');
        const modseq = q.number('mod-sequence');
        let known: string | null = null;
        let seqMatch: [string, string] | null = null;
        if (!q.done && q.peek()?.kind === 'atom') known = q.atom('known UIDs');
        if (!q.done) {
          const m = q.list('sequence match data');
          seqMatch = [m.atom('known sequence set'), m.atom('known UID set')];
          m.end();
        }
        q.end();
        qresync = { validity, modseq, known, seqMatch };
      } else throw bad(`unknown select parameter ${k}`);
    }
  }
  c.args.end();
  const user = s.user!;
  // Whatever happens next, the previous mailbox is closed (RFC 9051 6.3.2); RFC 7162 3.2.11 [CLOSED].
  if (s.selected) {
    s.unselect();
    s.untagged('OK [CLOSED] previous mailbox closed');
  }
  const r = await resolve(s, name);
  if (!r.mailbox) throw no(`no such mailbox ${name}`, 'NONEXISTENT');
  need(r, 'r', 'SELECT');
  if (condstore) s.enabled.add('CONDSTORE');
  const readOnly = examine || !/[swite]/.test(r.rights);
  const box = await SelectedMailbox.open(s.ctx.store, r.mailbox, readOnly, r.rights, r.display);
  try {
    const mb = box.mailbox;
    for (const l of flagsResponses(box)) s.untagged(l);
    s.untagged(`${box.exists} EXISTS`);
    if (!s.rev2) {
      s.untagged('0 RECENT');
      let firstUnseen = -1;
      for (let i = 0; i < box.exists && firstUnseen < 0; i++) if (!box.hasFlag(i, '\\Seen')) firstUnseen = i;
      if (firstUnseen >= 0) s.untagged(`OK [UNSEEN ${firstUnseen + 1}] first unseen message`);
    }
    s.untagged(`OK [UIDVALIDITY ${mb.uidValidity}] UIDs valid`);
    s.untagged(`OK [UIDNEXT ${mb.uidNext}] predicted next UID`);
    s.untagged(`OK [MAILBOXID (${mailboxObjectId(mb)})] Ok`); // RFC 8474 4.2
    if (s.enabled.has('CONDSTORE')) s.untagged(`OK [HIGHESTMODSEQ ${box.highestModSeq}] highest`);
    if (s.rev2) s.untagged('LIST () "/" ', ...encodeName(s, r.display));
    if (qresync && qresync.validity === mb.uidValidity) {
      // RFC 7162 3.2.5.1: what the client missed since its mod-sequence.
      const ch = await s.ctx.store.changesSince(mb.id, qresync.modseq);
      let vanished = ch.expunged;
      if (qresync.known) {
        const ks = parseSequenceSet(qresync.known);
        if (!ks || ks.kind !== 'set') throw bad('invalid known-uids');
        const ranges = resolveRanges(ks.ranges, Number.MAX_SAFE_INTEGER);
        vanished = vanished.filter((u) => inRanges(ranges, u));
      }
      if (vanished.length) s.untagged(`VANISHED (EARLIER) ${formatSet(vanished)}`);
      for (const m of ch.messages) {
        const i = box.indexOfUid(m.uid);
        if (i >= 0) s.untagged(`${i + 1} FETCH (UID ${m.uid} FLAGS (${m.flags.join(' ')}) MODSEQ (${m.modSeq}))`);
      }
    }
  } catch (e) {
    box.release();
    throw e;
  }
  s.select(box, user);
  return { code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${examine ? 'EXAMINE' : 'SELECT'} completed` };
}

// ---------------------------------------------------------------- LIST (RFC 9051 6.3.9, RFC 5258, 5819, 6154, 3348)

interface Entry {
  name: string;
  mailbox: Mailbox | null;
  /** A level with children that is not itself a mailbox. */
  virtual: boolean;
  subscribed: boolean;
  hasChildren: boolean;
  childSubscribed?: boolean;
}

/** Every name the user can see: own mailboxes, shared ones, and the levels above them. */
async function visible(s: Session, cyrusForm = false): Promise<Map<string, Entry>> {
  const user = s.user!;
  const store = s.ctx.store;
  const subs = new Set(await store.listSubscriptions(user.id));
  const out = new Map<string, Entry>();
  const add = (name: string, mailbox: Mailbox | null) => out.set(name, { name, mailbox, virtual: !mailbox, subscribed: subs.has(name), hasChildren: false });
  for (const m of await store.listMailboxes(user.id)) add(m.name, m);
  for (const sh of await store.sharedWith(user.address)) {
    if (!sh.rights.includes('l')) continue;
    add(`${OTHER_USERS}${SEP}${sh.owner}${SEP}${sh.mailbox.name}`, sh.mailbox);
  }
  if (cyrusForm && user.admin) {
    // Admins listing "user.*" see every account in the Cyrus form (names.ts).
    for (const u of await store.listUsers()) {
      for (const m of await store.listMailboxes(u.id)) add(m.name === 'INBOX' ? `user.${u.address}` : `user.${u.address}${SEP}${m.name}`, m);
    }
  }
  for (const n of subs) if (!out.has(n)) out.set(n, { name: n, mailbox: null, virtual: false, subscribed: true, hasChildren: false });
  for (const e of [...out.values()]) {
    if (!e.mailbox) continue;
    const parts = e.name.split(SEP);
    for (let i = 1; i < parts.length; i++) {
      const p = parts.slice(0, i).join(SEP);
      let pe = out.get(p);
      if (!pe) out.set(p, (pe = { name: p, mailbox: null, virtual: true, subscribed: subs.has(p), hasChildren: false }));
      // A subscribed name that is gone but still has mailboxes under it is a level, not \NonExistent.
      if (!pe.mailbox) pe.virtual = true;
      pe.hasChildren = true;
      if (e.subscribed) pe.childSubscribed = true;
    }
  }
  return out;
}

/** The reference and the pattern joined (RFC 9051 6.3.9), matched without a regex (wildcard.ts). */
function patternMatchers(ref: string, pattern: string): Wildcard[] {
  let full = pattern;
  if (ref && !pattern.startsWith(SEP)) full = ref.endsWith(SEP) || !ref ? ref + pattern : ref + SEP + pattern;
  const res = [new Wildcard(full, SEP)];
  // INBOX is case-insensitive (RFC 9051 5.1).
  if (/^inbox/i.test(full)) res.push(new Wildcard(`INBOX${full.slice(5)}`, SEP));
  return res;
}

function patternArg(s: Session, b: Buffer): string {
  if (s.utf8) return b.toString('utf8');
  const t = b.toString('latin1');
  return decodeMutf7(t) ?? t;
}

async function list(s: Session, c: Parameters<CommandSpec['run']>[1], lsub: boolean) {
  const sel = new Set<string>();
  const ret = new Set<string>();
  let statusItems: string[] | null = null;
  let extended = false;
  if (!lsub && c.args.peek()?.kind === 'list') {
    extended = true;
    const l = c.args.list('selection options');
    while (!l.done) sel.add(l.keyword('selection option'));
    for (const o of sel) if (!['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE'].includes(o)) throw bad(`unknown selection option ${o}`);
    // RFC 5258 3: RECURSIVEMATCH alone, or with REMOTE only, is a syntax error.
    if (sel.has('RECURSIVEMATCH') && ![...sel].some((o) => o !== 'RECURSIVEMATCH' && o !== 'REMOTE')) {
      throw bad('RECURSIVEMATCH needs a selection option other than REMOTE (RFC 5258 3)');
    }
  }
  const ref = patternArg(s, c.args.astringBytes('reference'));
  const patterns: string[] = [];
  if (c.args.peek()?.kind === 'list') {
    extended = true;
    const l = c.args.list('patterns');
    while (!l.done) patterns.push(patternArg(s, l.astringBytes('pattern')));
  } else patterns.push(patternArg(s, c.args.astringBytes('pattern')));
  if (!lsub && c.args.peekAtom('RETURN')) {
    c.args.atom();
    extended = true;
    const l = c.args.list('return options');
    while (!l.done) {
      const o = l.keyword('return option');
      if (o === 'STATUS') {
        const st = l.list('status items');
        statusItems = [];
        while (!st.done) statusItems.push(st.keyword('status item'));
      } else if (['SUBSCRIBED', 'CHILDREN', 'SPECIAL-USE', 'MYRIGHTS'].includes(o)) ret.add(o);
      else throw bad(`unknown return option ${o}`);
    }
  }
  c.args.end();
  const verb = lsub ? 'LSUB' : 'LIST';

  if (!lsub && patterns.length === 1 && patterns[0] === '') {
    // RFC 9051 6.3.9: the hierarchy delimiter and the root of the reference.
    s.untagged(`${verb} (\\Noselect) "${SEP}" `, ...encodeName(s, ref.split(SEP)[0] && ref.includes(SEP) ? ref.split(SEP)[0] + SEP : ''));
    return;
  }
  const all = await visible(s, patterns.some((p) => /^user[.%*]/i.test(ref + p)));
  const res = patterns.flatMap((p) => patternMatchers(ref, p));
  const matches = (n: string) => res.some((r) => r.matches(n));
  const subscribedOnly = lsub || sel.has('SUBSCRIBED');
  const pieces: Piece[][] = [];
  for (const e of [...all.values()].sort((a, b) => cmpNames(a.name, b.name))) {
    if (!matches(e.name)) continue;
    // RFC 5258 3.5: with RECURSIVEMATCH, CHILDINFO tells of children meeting the selection,
    // whether or not the parent itself meets it (issue 10.7).
    let childInfo = sel.has('RECURSIVEMATCH') && !!e.childSubscribed;
    if (subscribedOnly && !e.subscribed) {
      if (lsub && e.childSubscribed && patterns.some((p) => p.endsWith('%'))) childInfo = true; // RFC 3501 6.3.9 LSUB
      else if (!childInfo) continue;
    }
    // RFC 9051 6.3.9, RFC 5258 3: a name that does not exist and meets no selection criterion
    // gets no LIST response (a subscription left to a shared mailbox that went, issue 10.1).
    if (!subscribedOnly && !e.mailbox && !e.virtual) continue;
    if (e.virtual && !subscribedOnly) {
      // A level with no mailbox shows up only where "%" stops at it (RFC 9051 6.3.9).
      if (!patterns.some((p) => p.endsWith('%') || p.includes('%' + SEP))) continue;
    }
    if (sel.has('SPECIAL-USE') && !e.mailbox?.specialUse) continue;
    const attrs: string[] = [];
    if (e.virtual || !e.mailbox) attrs.push(!e.mailbox && e.subscribed && !e.virtual ? '\\NonExistent' : '\\Noselect');
    if (!lsub) attrs.push(e.hasChildren ? '\\HasChildren' : '\\HasNoChildren');
    if (e.mailbox?.specialUse && !lsub) attrs.push(...e.mailbox.specialUse.split(' '));
    if ((ret.has('SUBSCRIBED') || sel.has('SUBSCRIBED')) && e.subscribed && !lsub) attrs.push('\\Subscribed');
    const line: Piece[] = [`${verb} (${[...new Set(attrs)].join(' ')}) "${SEP}" `, ...encodeName(s, e.name)];
    if (childInfo && !lsub) line.push(' ("CHILDINFO" ("SUBSCRIBED"))');
    if (lsub && childInfo) line[0] = `${verb} (\\Noselect) "${SEP}" `;
    pieces.push(line);
    if (statusItems && e.mailbox) pieces.push(await statusLine(s, e.name, e.mailbox, statusItems));
    // RFC 8440 2: MYRIGHTS of each listed mailbox, as the MYRIGHTS command answers (RFC 4314 3.5).
    if (ret.has('MYRIGHTS') && e.mailbox) {
      const rights = e.mailbox.userId === s.user!.id ? ALL_RIGHTS : await rightsOf(s, e.mailbox.id);
      pieces.push(['MYRIGHTS ', ...encodeName(s, e.name), ' ', ...(rights ? astr(rights) : ['""'])]);
    }
  }
  void extended;
  for (const p of pieces) s.untagged(...p);
}

function cmpNames(a: string, b: string): number {
  if (a === 'INBOX') return -1;
  if (b === 'INBOX') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------- STATUS (RFC 9051 6.3.11, RFC 8438, RFC 7162 3.1.6, RFC 7889)

const STATUS_ITEMS = ['MESSAGES', 'UIDNEXT', 'UIDVALIDITY', 'UNSEEN', 'DELETED', 'SIZE', 'RECENT', 'HIGHESTMODSEQ', 'APPENDLIMIT', 'MAILBOXID'];

async function statusLine(s: Session, display: string, mb: Mailbox, items: string[]): Promise<Piece[]> {
  for (const i of items) if (!STATUS_ITEMS.includes(i)) throw bad(`unknown status item ${i}`);
  const fresh = (await s.ctx.store.getMailboxById(mb.id)) ?? mb;
  const needCounts = items.some((i) => ['MESSAGES', 'UNSEEN', 'DELETED', 'SIZE'].includes(i));
  const st = needCounts ? await s.ctx.store.mailboxStatus(mb.id) : null;
  const out: string[] = [];
  for (const i of items) {
    if (i === 'MAILBOXID') {
      out.push(`MAILBOXID (${mailboxObjectId(fresh)})`); // RFC 8474 4.1
      continue;
    }
    const v =
      i === 'MESSAGES' ? st!.messages : i === 'UIDNEXT' ? fresh.uidNext : i === 'UIDVALIDITY' ? fresh.uidValidity
      : i === 'UNSEEN' ? st!.unseen : i === 'DELETED' ? st!.deleted : i === 'SIZE' ? st!.size : i === 'RECENT' ? 0
      : i === 'HIGHESTMODSEQ' ? fresh.highestModSeq : s.ctx.config.imap.max_literal_size;
    out.push(`${i} ${v}`);
  }
  if (items.includes('HIGHESTMODSEQ')) enableCondstore(s);
  return ['STATUS ', ...encodeName(s, display), ` (${out.join(' ')})`];
}

// ---------------------------------------------------------------- CREATE / DELETE / RENAME

/** The owner's mailbox holding `local`'s parent must grant "k" to create under it (RFC 4314 4). */
async function mayCreate(s: Session, r: Resolved): Promise<void> {
  if (r.own || s.user!.admin) return;
  const i = r.local.lastIndexOf(SEP);
  const parent = i < 0 ? null : await s.ctx.store.getMailbox(r.owner.id, r.local.slice(0, i));
  if (!parent) throw no('permission denied', 'NOPERM');
  const acl = await s.ctx.store.getAcl(parent.id);
  const rights = acl.filter((e) => e.identifier === s.user!.address || e.identifier === 'anyone').map((e) => e.rights).join('');
  if (!rights.includes('k')) throw no('permission denied (right "k" needed on the parent)', 'NOPERM');
}

export const mailboxCommands: Record<string, CommandSpec> = {
  SELECT: { states: [...AUTHED], run: (s, c) => select(s, c, false) },
  EXAMINE: { states: [...AUTHED], run: (s, c) => select(s, c, true) },

  // RFC 9051 6.3.4, RFC 6154 5.3 (USE)
  CREATE: {
    states: [...AUTHED],
    async run(s, c) {
      let name = nameArg(s, c.args);
      let use: string | null = null;
      if (!c.args.done) {
        const p = c.args.list('create parameters');
        while (!p.done) {
          const k = p.keyword('create parameter');
          if (k !== 'USE') throw bad(`unknown CREATE parameter ${k}`);
          const l = p.list('special uses');
          const uses: string[] = [];
          while (!l.done) {
            const u = l.atom('special use');
            const canon = SPECIAL_USES.find((x) => x.toLowerCase() === u.toLowerCase());
            if (!canon) throw no(`special use ${u} is not supported`, 'USEATTR');
            uses.push(canon);
          }
          use = uses.length ? uses.join(' ') : null;
        }
      }
      c.args.end();
      if (name.endsWith(SEP)) name = name.slice(0, -1);
      const me = s.user!;
      // cyradm "cm user.NAME": an admin provisions an account (no password until `correo user passwd`).
      const cyr = me.admin ? /^user\.([^/]+)$/i.exec(name) : null;
      if (cyr) {
        const addr = qualify(s, cyr[1]);
        if (await s.ctx.store.getUser(addr)) throw no(`user ${addr} already has a mailbox`, 'ALREADYEXISTS');
        if (!/^[^@\s]+@[^@\s]+$/.test(addr)) throw no(`${addr} is not an address`, 'CANNOT');
        // As `correo user add`: accounts only in our own domains (issue 10.10).
        const domain = addr.slice(addr.indexOf('@') + 1);
        if (!s.ctx.config.domains.includes(domain)) throw no(`${domain} is not one of this server's domains`, 'CANNOT');
        await s.ctx.store.createUser(addr, '!');
        s.log.notice(null, `${s.id}: ${me.address} created user ${addr} (no password set)`);
        return 'CREATE completed (account made; set its password with `correo user passwd`)';
      }
      if (name === 'INBOX') throw no('INBOX exists', 'ALREADYEXISTS');
      const r = await resolve(s, name);
      checkNewName(r.local);
      if (r.mailbox) throw no(`${name} already exists`, 'ALREADYEXISTS');
      await mayCreate(s, r);
      // RFC 9051 6.3.4: superior names that are missing are created too (one transaction).
      const made = await s.ctx.store.createMailbox(r.owner.id, r.local, use, { parents: true });
      return { code: `MAILBOXID (${mailboxObjectId(made)})`, text: 'CREATE completed' }; // RFC 8474 4.1
    },
  },

  // RFC 9051 6.3.5
  DELETE: {
    states: [...AUTHED],
    async run(s, c) {
      const name = nameArg(s, c.args);
      c.args.end();
      const me = s.user!;
      const cyr = me.admin ? /^user\.([^/]+)$/i.exec(name) : null;
      if (cyr) {
        // cyradm "dm user.NAME": the whole account goes, as Cyrus removes the user's mailboxes.
        const addr = qualify(s, cyr[1]);
        if (addr === me.address) throw no('an admin cannot delete their own account this way', 'CANNOT');
        if (!(await s.ctx.store.deleteUser(addr))) throw no(`no such user ${addr}`, 'NONEXISTENT');
        s.log.notice(null, `${s.id}: ${me.address} deleted user ${addr}`);
        return;
      }
      const r = await resolve(s, name);
      if (!r.mailbox) throw no(`no such mailbox ${name}`, 'NONEXISTENT');
      if (r.local === 'INBOX') throw no('INBOX cannot be deleted', 'CANNOT');
      need(r, 'x', 'DELETE');
      if (s.selected?.mailbox.id === r.mailbox.id) s.unselect();
      await s.ctx.store.deleteMailbox(r.mailbox.id);
      s.shared.notifier.changed(r.mailbox.id);
    },
  },

  // RFC 9051 6.3.6
  RENAME: {
    states: [...AUTHED],
    async run(s, c) {
      const from = nameArg(s, c.args, 'existing mailbox name');
      let to = nameArg(s, c.args, 'new mailbox name');
      c.args.end();
      if (to.endsWith(SEP)) to = to.slice(0, -1);
      const rf = await resolve(s, from);
      const rt = await resolve(s, to);
      if (!rf.mailbox) throw no(`no such mailbox ${from}`, 'NONEXISTENT');
      if (rf.owner.id !== rt.owner.id) throw no("mailboxes cannot move between users' trees", 'CANNOT');
      checkNewName(rt.local);
      if (rt.mailbox) throw no(`${to} already exists`, 'ALREADYEXISTS');
      if (rt.local === rf.local || rt.local.startsWith(rf.local + SEP)) throw no('a mailbox cannot move inside itself', 'CANNOT');
      need(rf, 'x', 'RENAME');
      await mayCreate(s, rt);
      const store = s.ctx.store;
      if (rf.local === 'INBOX') {
        // RFC 9051 6.3.6: renaming INBOX moves its messages to the new name and leaves INBOX empty.
        const dest = await store.createMailbox(rt.owner.id, rt.local, null, { parents: true });
        const uids = (await store.listMessages(rf.mailbox.id)).map((m) => m.uid);
        if (uids.length) await store.copyMessages(rf.mailbox.id, uids, dest.id, true);
        s.shared.notifier.changed(rf.mailbox.id);
        return;
      }
      await store.renameMailbox(rt.owner.id, rf.local, rt.local);
      if (s.selected?.mailbox.id === rf.mailbox.id) s.selected.mailbox = (await store.getMailboxById(rf.mailbox.id)) ?? s.selected.mailbox;
    },
  },

  SUBSCRIBE: {
    states: [...AUTHED],
    async run(s, c) {
      const name = nameArg(s, c.args);
      c.args.end();
      const r = await resolve(s, name);
      if (!r.mailbox) throw no(`no such mailbox ${name}`, 'NONEXISTENT');
      await s.ctx.store.setSubscribed(s.user!.id, r.display, true);
    },
  },

  UNSUBSCRIBE: {
    states: [...AUTHED],
    async run(s, c) {
      const name = nameArg(s, c.args);
      c.args.end();
      // RFC 9051 6.3.8: works for names that no longer exist.
      await s.ctx.store.setSubscribed(s.user!.id, name, false);
    },
  },

  LIST: { states: [...AUTHED], run: (s, c) => list(s, c, false) },
  LSUB: { states: [...AUTHED], run: (s, c) => list(s, c, true) },

  STATUS: {
    states: [...AUTHED],
    async run(s, c) {
      const name = nameArg(s, c.args);
      const l = c.args.list('status items');
      c.args.end();
      const items: string[] = [];
      while (!l.done) items.push(l.keyword('status item'));
      if (!items.length) throw bad('no status items');
      const r = await resolve(s, name);
      if (!r.mailbox) throw no(`no such mailbox ${name}`, 'NONEXISTENT');
      need(r, 'r', 'STATUS');
      s.untagged(...(await statusLine(s, r.display, r.mailbox, items)));
    },
  },
};
