import type { CommandSpec, Session, Command } from '../session.js';
import { no } from '../errors.js';
import { ALL_RIGHTS, decodeName, need, permittedFlags, resolve } from '../names.js';
import { formatSet } from '../sequence.js';
import { QuotaExceededError } from '../../store/types.js';

/** RFC 9051 6.4.7 COPY with RFC 4315 COPYUID; RFC 6851 MOVE. */
async function copy(s: Session, c: Command, move: boolean) {
  const box = s.selected!;
  const set = c.args.sequenceSet();
  const name = decodeName(s, c.args.astringBytes('mailbox name'));
  c.args.end();
  if (move) {
    if (box.readOnly) throw no('mailbox is read-only', 'READ-ONLY');
    if (!box.rights.includes('t') || !box.rights.includes('e')) throw no('permission denied (rights "t" and "e" needed)', 'NOPERM');
  }
  const r = await resolve(s, name);
  if (!r.mailbox) throw no(`no such mailbox ${name}`, 'TRYCREATE');
  need(r, 'i', move ? 'MOVE' : 'COPY');
  if (box.dirty) await s.announce(box, c.uid);
  const idx = box.select(set, c.uid, s.saved);
  const uids = idx.filter((i) => !box.isExpunged(i)).map((i) => box.uidAt(i));
  if (!uids.length) return move || c.uid ? `${c.verb} completed (no messages)` : undefined;
  let res;
  try {
    // RFC 4314 4: the copies keep only the flags the caller may set on the target (as permittedFlags).
    const keep = r.rights === ALL_RIGHTS ? undefined : { seen: r.rights.includes('s'), deleted: r.rights.includes('t'), others: r.rights.includes('w') };
    // RFC 6851 3.1: a MOVE into the selected mailbox too is a copy and an expunge of the
    // originals (new UIDs); it was a copy only, one message becoming two (issue 10.3).
    res = await s.ctx.store.copyMessages(box.mailbox.id, uids, r.mailbox.id, move, keep);
  } catch (e) {
    if (e instanceof QuotaExceededError) throw no(`over quota: ${e.message}`, 'OVERQUOTA');
    throw e;
  }
  s.shared.notifier.changed(r.mailbox.id);
  const code = `COPYUID ${res.uidValidity} ${formatSet(res.fromUids, false)} ${formatSet(res.toUids, false)}`;
  if (!move) return { code, text: `${c.verb} completed` };
  // RFC 6851 4.3: COPYUID goes in an untagged OK before the expunges.
  s.untagged(`OK [${code}] moved`);
  box.markExpunged(res.fromUids);
  if (r.mailbox.id !== box.mailbox.id) s.shared.notifier.changed(box.mailbox.id);
  s.announceExpunges(box);
  return `${c.verb} completed`;
}

export const copyCommands: Record<string, CommandSpec> = {
  COPY: { states: ['selected'], run: (s, c) => copy(s, c, false) },
  'UID COPY': { states: ['selected'], run: (s, c) => copy(s, c, false) },
  MOVE: { states: ['selected'], run: (s, c) => copy(s, c, true) },
  'UID MOVE': { states: ['selected'], run: (s, c) => copy(s, c, true) },
};
