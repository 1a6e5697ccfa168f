import type { CommandSpec } from '../session.js';
import { bad, no } from '../errors.js';
import { checkFlag } from '../args.js';
import { formatSet } from '../sequence.js';
import { flagsResponses } from '../selected.js';
import { enableCondstore } from '../condstore.js';
import type { FlagOp } from '../../store/types.js';

/** RFC 9051 6.4.6 STORE, RFC 7162 3.1.3 UNCHANGEDSINCE / MODIFIED. */
const store: CommandSpec['run'] = async (s, c) => {
  const box = s.selected!;
  const set = c.args.sequenceSet();
  let unchangedSince: number | undefined;
  if (c.args.peek()?.kind === 'list') {
    const mods = c.args.list('store modifiers');
    while (!mods.done) {
      const k = mods.keyword('store modifier');
      if (k !== 'UNCHANGEDSINCE') throw bad(`unknown store modifier ${k}`);
      unchangedSince = mods.number('mod-sequence');
    }
    enableCondstore(s);
  }
  const what = c.args.keyword('+FLAGS, -FLAGS or FLAGS');
  const m = /^([+-]?)FLAGS(\.SILENT)?$/.exec(what);
  if (!m) throw bad(`expected FLAGS, +FLAGS or -FLAGS, got ${what}`);
  const op: FlagOp = m[1] === '+' ? 'add' : m[1] === '-' ? 'remove' : 'set';
  const silent = !!m[2];
  let flags: string[] = [];
  if (c.args.peek()?.kind === 'list') flags = c.args.flagList();
  else while (!c.args.done) flags.push(checkFlag(c.args.atom('flag')));
  c.args.end();
  if (box.readOnly) throw no('mailbox is read-only', 'READ-ONLY');
  // RFC 4314 4: \Seen needs "s", \Deleted "t", other flags "w".
  for (const f of op === 'set' ? ['\\Seen', '\\Deleted', '*'] : flags) {
    const right = f === '\\Seen' ? 's' : f === '\\Deleted' ? 't' : 'w';
    if (op === 'set' && !flags.includes(f) && f !== '*' && box.rights.includes(right)) continue;
    if (!box.rights.includes(right)) throw no(`permission denied (right "${right}" needed)`, 'NOPERM');
  }
  if (box.dirty) await s.announce(box, c.uid);
  const idx = box.select(set, c.uid, s.saved);
  const uids = idx.filter((i) => !box.isExpunged(i)).map((i) => box.uidAt(i));
  const res = await s.ctx.store.updateFlags(box.mailbox.id, uids, op, [...new Set(flags)], unchangedSince);
  const changedUids = new Set<number>();
  let newKeyword = false;
  for (const rec of res.changed) {
    const i = box.indexOfUid(rec.uid);
    if (i < 0) continue;
    box.setFlags(i, rec.flags, rec.modSeq);
    changedUids.add(rec.uid);
    if (box.learnKeywords(rec.flags)) newKeyword = true;
  }
  // RFC 9051 7.3.5: a keyword new to the mailbox is announced with FLAGS (issue 10.9).
  if (newKeyword) for (const l of flagsResponses(box)) s.untagged(l);
  if (res.changed.length) s.shared.notifier.changed(box.mailbox.id);
  const condstore = s.enabled.has('CONDSTORE');
  // Without .SILENT every message of the set gets its flags back; with it, only what CONDSTORE needs (RFC 7162 3.1.3).
  for (const i of idx) {
    const msg = box.msg(i);
    if (msg.expunged || res.modified.includes(msg.uid)) continue;
    if (silent && !(condstore && changedUids.has(msg.uid))) continue;
    const parts = [c.uid ? `UID ${msg.uid}` : '', silent ? '' : `FLAGS (${msg.flags.join(' ')})`, condstore ? `MODSEQ (${msg.modSeq})` : ''].filter(Boolean);
    s.untagged(`${i + 1} FETCH (${parts.join(' ')})`);
  }
  if (res.modified.length) {
    const list = c.uid ? res.modified : res.modified.map((u) => box.indexOfUid(u) + 1);
    return { code: `MODIFIED ${formatSet(list)}`, text: 'conditional STORE failed for some messages' };
  }
};

export const flagCommands: Record<string, CommandSpec> = {
  STORE: { states: ['selected'], run: store },
  'UID STORE': { states: ['selected'], run: store },
};
