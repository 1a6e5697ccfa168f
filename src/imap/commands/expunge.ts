import type { CommandSpec, Session } from '../session.js';
import { no } from '../errors.js';

/** Expunges the \Deleted messages among `uids` (all when null); returns how many went. */
export async function expungeDeleted(s: Session, uids: Set<number> | null): Promise<number[]> {
  const box = s.selected!;
  if (box.dirty) await s.announce(box, false);
  const victims: number[] = [];
  for (let i = 0; i < box.exists; i++) if (!box.isExpunged(i) && box.hasFlag(i, '\\Deleted') && (!uids || uids.has(box.uidAt(i)))) victims.push(box.uidAt(i));
  if (!victims.length) return [];
  const done = await s.ctx.store.expungeUids(box.mailbox.id, victims);
  box.markExpunged(done);
  s.shared.notifier.changed(box.mailbox.id);
  return done;
}

function mayExpunge(s: Session): void {
  const box = s.selected!;
  if (box.readOnly) throw no('mailbox is read-only', 'READ-ONLY');
  if (!box.rights.includes('e')) throw no('permission denied (right "e" needed)', 'NOPERM');
}

/** RFC 9051 6.4: selected state. */
export const expungeCommands: Record<string, CommandSpec> = {
  CHECK: {
    states: ['selected'],
    async run(s, c) {
      c.args.end();
      s.selected!.dirty = true;
    },
  },

  // RFC 9051 6.4.1: silent expunge, then back to authenticated state.
  CLOSE: {
    states: ['selected'],
    async run(s, c) {
      c.args.end();
      const box = s.selected!;
      if (!box.readOnly && box.rights.includes('e')) await expungeDeleted(s, null);
      s.unselect();
    },
  },

  // RFC 3691
  UNSELECT: {
    states: ['selected'],
    async run(s, c) {
      c.args.end();
      s.unselect();
    },
  },

  EXPUNGE: {
    states: ['selected'],
    async run(s, c) {
      c.args.end();
      mayExpunge(s);
      await expungeDeleted(s, null);
      if (s.enabled.has('CONDSTORE')) return { code: `HIGHESTMODSEQ ${(await s.ctx.store.getMailboxById(s.selected!.mailbox.id))?.highestModSeq ?? 0}`, text: 'EXPUNGE completed' };
    },
  },

  // RFC 4315 2.1
  'UID EXPUNGE': {
    states: ['selected'],
    async run(s, c) {
      const set = c.args.sequenceSet('UID set');
      c.args.end();
      mayExpunge(s);
      const box = s.selected!;
      const idx = box.select(set, true, s.saved);
      await expungeDeleted(s, new Set(idx.map((i) => box.uidAt(i))));
    },
  },
};
