import type { Mailbox, MessageRecord, Store } from '../store/types.js';
import { bad } from './errors.js';
import { inRanges, resolveRanges, type SequenceSet } from './sequence.js';

/** A message as one session knows it; `expunged`: gone from the store, not yet announced. */
export interface ViewMessage {
  id: number;
  uid: number;
  flags: string[];
  modSeq: number;
  size: number;
  internalDate: number;
  blobId: string;
  expunged: boolean;
}

/** What a sync found, for the session to announce (RFC 9051 7.4.1 decides when). */
export interface Changes {
  exists: boolean;
  flagged: ViewMessage[];
}

/**
 * The selected mailbox as this session sees it: message sequence numbers are positions in
 * `msgs` (RFC 9051 2.3.1.2). Changes made by others are read from the store by mod-sequence
 * (RFC 7162) and applied here; expunges wait as `expunged` entries, keeping every sequence
 * number valid, until the session may announce them.
 */
export class SelectedMailbox {
  msgs: ViewMessage[] = [];
  /** The highest mod-sequence of the store this view has caught up with. */
  highestModSeq = 0;
  /** Another session or the queue changed this mailbox since the last sync. */
  dirty = false;
  private pendingExpunge = 0;

  constructor(
    public mailbox: Mailbox,
    readonly readOnly: boolean,
    /** RFC 4314 rights of the session's user on this mailbox. */
    readonly rights: string,
    /** Name as the client gave it (for LIST in rev2, logs). */
    readonly displayName: string,
  ) {}

  static async open(store: Store, mailbox: Mailbox, readOnly: boolean, rights: string, displayName: string): Promise<SelectedMailbox> {
    const v = new SelectedMailbox(mailbox, readOnly, rights, displayName);
    // modseq is read before the messages, so a change racing with us is seen again, never missed.
    const fresh = (await store.getMailboxById(mailbox.id)) ?? mailbox;
    v.mailbox = fresh;
    v.highestModSeq = fresh.highestModSeq;
    v.msgs = (await store.listMessages(mailbox.id)).map(toView);
    return v;
  }

  get exists(): number {
    return this.msgs.length;
  }

  get maxUid(): number {
    return this.msgs.length ? this.msgs[this.msgs.length - 1].uid : 0;
  }

  /** Index (0-based) of a UID, or -1 (binary search: UIDs ascend with sequence numbers). */
  indexOfUid(uid: number): number {
    let lo = 0, hi = this.msgs.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.msgs[mid].uid;
      if (u === uid) return mid;
      if (u < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /**
   * Indexes selected by a sequence set: by UID (`uid`), or by sequence number, where a number
   * past the end is the client's mistake (RFC 9051 9: BAD).
   */
  select(set: SequenceSet, uid: boolean, saved: number[] | null): number[] {
    if (set.kind === 'saved') {
      if (!saved) return [];
      const out: number[] = [];
      for (const u of saved) {
        const i = this.indexOfUid(u);
        if (i >= 0) out.push(i);
      }
      return out.sort((a, b) => a - b);
    }
    const out: number[] = [];
    if (uid) {
      if (!this.msgs.length) return out;
      const ranges = resolveRanges(set.ranges, this.maxUid);
      for (let i = 0; i < this.msgs.length; i++) if (inRanges(ranges, this.msgs[i].uid)) out.push(i);
      return out;
    }
    const n = this.msgs.length;
    const ranges = resolveRanges(set.ranges, n);
    for (const r of ranges) if (r.to > n || r.from < 1) throw bad(n === 0 ? 'the mailbox is empty' : `invalid message sequence number (there are ${n} messages)`);
    if (ranges.length === 1) {
      for (let i = ranges[0].from; i <= ranges[0].to; i++) out.push(i - 1);
      return out;
    }
    for (let i = 1; i <= n; i++) if (inRanges(ranges, i)) out.push(i - 1);
    return out;
  }

  /** Applies what changed in the store since `highestModSeq`. */
  async sync(store: Store): Promise<Changes> {
    this.dirty = false;
    const ch = await store.changesSince(this.mailbox.id, this.highestModSeq);
    const res: Changes = { exists: false, flagged: [] };
    for (const rec of ch.messages) {
      const i = this.indexOfUid(rec.uid);
      if (i >= 0) {
        const m = this.msgs[i];
        m.modSeq = rec.modSeq;
        if (!sameFlags(m.flags, rec.flags)) {
          m.flags = rec.flags;
          res.flagged.push(m);
        }
      } else if (rec.uid > this.maxUid) {
        this.msgs.push(toView(rec));
        res.exists = true;
      }
    }
    for (const uid of ch.expunged) {
      const i = this.indexOfUid(uid);
      if (i >= 0 && !this.msgs[i].expunged) {
        this.msgs[i].expunged = true;
        this.pendingExpunge++;
      }
    }
    if (ch.highestModSeq > this.highestModSeq) this.highestModSeq = ch.highestModSeq;
    return res;
  }

  /** Marks messages this session expunged itself. */
  markExpunged(uids: number[]): void {
    for (const uid of uids) {
      const i = this.indexOfUid(uid);
      if (i >= 0 && !this.msgs[i].expunged) {
        this.msgs[i].expunged = true;
        this.pendingExpunge++;
      }
    }
  }

  /**
   * Removes the messages marked expunged, returning their sequence numbers in the order the
   * EXPUNGE responses must go out (each one renumbers those after it) and their UIDs.
   */
  takeExpunged(): { seqs: number[]; uids: number[] } {
    if (!this.pendingExpunge) return { seqs: [], uids: [] };
    const seqs: number[] = [];
    const uids: number[] = [];
    const keep: ViewMessage[] = [];
    for (let i = 0; i < this.msgs.length; i++) {
      const m = this.msgs[i];
      if (m.expunged) {
        // Announced in order: the n-th removal sees the earlier ones gone already.
        seqs.push(i + 1 - seqs.length);
        uids.push(m.uid);
      } else keep.push(m);
    }
    this.msgs = keep;
    this.pendingExpunge = 0;
    return { seqs, uids };
  }

  addOwn(recs: MessageRecord[]): boolean {
    let added = false;
    for (const r of recs) {
      if (r.uid > this.maxUid) {
        this.msgs.push(toView(r));
        added = true;
      }
    }
    return added;
  }
}

export function toView(r: MessageRecord): ViewMessage {
  return { id: r.id, uid: r.uid, flags: r.flags, modSeq: r.modSeq, size: r.size, internalDate: r.internalDate, blobId: r.blobId, expunged: false };
}

function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (const f of b) if (!a.includes(f)) return false;
  return true;
}
