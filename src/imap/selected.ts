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
  /** A keyword the client was not told of yet (FLAGS goes out again, issue 10.9). */
  keywords: boolean;
}

/** What never changes about a message in a mailbox: shared by every session that has it selected. */
interface Meta {
  id: number;
  size: number;
  internalDate: number;
  blobId: string;
}

/** Per mailbox, the immutable part of its messages, kept while some session has it selected. */
const metas = new Map<number, { refs: number; byUid: Map<number, Meta>; sortKeys: Map<string, Map<number, string | number>> }>();

/** Flag lists as one interned string each: thousands of sessions share a handful of values. */
const flagStrings = new Map<string, string>();
function intern(flags: string[]): string {
  const k = flags.join(' ');
  let v = flagStrings.get(k);
  if (v === undefined) {
    if (flagStrings.size > 100_000) flagStrings.clear();
    flagStrings.set(k, (v = k));
  }
  return v;
}

/**
 * The selected mailbox as this session sees it: message sequence numbers are positions in
 * these columns (RFC 9051 2.3.1.2). Changes made by others are read from the store by
 * mod-sequence (RFC 7162) and applied here; expunges wait, keeping every sequence number
 * valid, until the session may announce them.
 *
 * Memory matters (thousands of IDLE sessions): a session keeps only UID, flags (interned) and
 * mod-sequence per message; size, date and file are shared across sessions.
 */
export class SelectedMailbox {
  private uids: number[] = [];
  private flagCol: string[] = [];
  private modseqs: number[] = [];
  private pending = new Set<number>();
  private meta: Map<number, Meta>;
  private sortKeys: Map<string, Map<number, string | number>>;
  /** The highest mod-sequence of the store this view has caught up with. */
  highestModSeq = 0;
  /** Another session or the queue changed this mailbox since the last sync. */
  dirty = false;
  /** Keywords this session's FLAGS response has named (issue 10.9: a new one needs a FLAGS update). */
  private keywords = new Set<string>();
  private released = false;

  private constructor(
    public mailbox: Mailbox,
    readonly readOnly: boolean,
    /** RFC 4314 rights of the session's user on this mailbox. */
    readonly rights: string,
    /** Name as the client gave it. */
    readonly displayName: string,
  ) {
    let m = metas.get(mailbox.id);
    if (!m) metas.set(mailbox.id, (m = { refs: 0, byUid: new Map(), sortKeys: new Map() }));
    m.refs++;
    this.meta = m.byUid;
    this.sortKeys = m.sortKeys;
  }

  static async open(store: Store, mailbox: Mailbox, readOnly: boolean, rights: string, displayName: string): Promise<SelectedMailbox> {
    // modseq is read before the messages, so a change racing with us is seen again, never missed.
    const fresh = (await store.getMailboxById(mailbox.id)) ?? mailbox;
    const v = new SelectedMailbox(fresh, readOnly, rights, displayName);
    v.highestModSeq = fresh.highestModSeq;
    for (const r of await store.listMessages(mailbox.id)) {
      v.push(r);
      v.learnKeywords(r.flags);
    }
    return v;
  }

  /** Keywords known to the client, in the order they were first seen. */
  knownKeywords(): string[] {
    return [...this.keywords];
  }

  /** Remembers the keywords of `flags`; true when one was new (RFC 9051 7.3.5: send FLAGS again). */
  learnKeywords(flags: string[]): boolean {
    let added = false;
    for (const f of flags) {
      if (f.startsWith('\\') || this.keywords.has(f)) continue;
      this.keywords.add(f);
      added = true;
    }
    return added;
  }

  /** Gives up the shared message data (UNSELECT, CLOSE, another SELECT, logout). */
  release(): void {
    if (this.released) return;
    this.released = true;
    const m = metas.get(this.mailbox.id);
    if (m && --m.refs <= 0) metas.delete(this.mailbox.id);
  }

  private push(r: MessageRecord): void {
    this.uids.push(r.uid);
    this.flagCol.push(intern(r.flags));
    this.modseqs.push(r.modSeq);
    if (!this.meta.has(r.uid)) this.meta.set(r.uid, { id: r.id, size: r.size, internalDate: r.internalDate, blobId: r.blobId });
  }

  get exists(): number {
    return this.uids.length;
  }

  get maxUid(): number {
    return this.uids.length ? this.uids[this.uids.length - 1] : 0;
  }

  /** The message at index i (0-based), as a fresh object. */
  msg(i: number): ViewMessage {
    const uid = this.uids[i];
    const meta = this.meta.get(uid) ?? { id: 0, size: 0, internalDate: 0, blobId: '' };
    const f = this.flagCol[i];
    return { uid, flags: f ? f.split(' ') : [], modSeq: this.modseqs[i], expunged: this.pending.has(uid), ...meta };
  }

  /** The flags of message i as one space-separated string (interned: no allocation). */
  flagsTextAt(i: number): string {
    return this.flagCol[i];
  }

  /** Size and INTERNALDATE of message i, from the data shared by the mailbox's sessions. */
  sizeDateAt(i: number): { size: number; internalDate: number } {
    return this.meta.get(this.uids[i]) ?? { size: 0, internalDate: 0 };
  }

  uidAt(i: number): number {
    return this.uids[i];
  }

  modSeqAt(i: number): number {
    return this.modseqs[i];
  }

  hasFlag(i: number, flag: string): boolean {
    const f = this.flagCol[i];
    return f === flag || (` ${f} `).includes(` ${flag} `);
  }

  isExpunged(i: number): boolean {
    return this.pending.has(this.uids[i]);
  }

  /**
   * SORT keys computed from messages' headers (RFC 5256), by criterion and UID: they never
   * change, so every session of the mailbox reuses them while one has it selected.
   */
  sortKeyCache(criterion: string): Map<number, string | number> {
    let m = this.sortKeys.get(criterion);
    if (!m) this.sortKeys.set(criterion, (m = new Map()));
    return m;
  }

  /** Every message, as objects (for the few commands that go over all of them). */
  all(): ViewMessage[] {
    return this.uids.map((_, i) => this.msg(i));
  }

  setFlags(i: number, flags: string[], modSeq: number): void {
    this.flagCol[i] = intern(flags);
    this.modseqs[i] = modSeq;
  }

  /** Index (0-based) of a UID, or -1 (binary search: UIDs ascend with sequence numbers). */
  indexOfUid(uid: number): number {
    let lo = 0, hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = this.uids[mid];
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
    const n = this.uids.length;
    if (uid) {
      if (!n) return out;
      const ranges = resolveRanges(set.ranges, this.maxUid);
      if (ranges.length === 1) {
        // One range: two binary searches instead of a scan.
        let i = lowerBound(this.uids, ranges[0].from);
        for (; i < n && this.uids[i] <= ranges[0].to; i++) out.push(i);
        return out;
      }
      for (let i = 0; i < n; i++) if (inRanges(ranges, this.uids[i])) out.push(i);
      return out;
    }
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
    const res: Changes = { exists: false, flagged: [], keywords: false };
    for (const rec of ch.messages) {
      const i = this.indexOfUid(rec.uid);
      if (i >= 0) {
        const old = this.flagCol[i];
        const now = intern(rec.flags);
        this.modseqs[i] = rec.modSeq;
        if (old !== now && !sameFlags(old, rec.flags)) {
          this.flagCol[i] = now;
          res.flagged.push(this.msg(i));
          if (this.learnKeywords(rec.flags)) res.keywords = true;
        }
      } else if (rec.uid > this.maxUid) {
        this.push(rec);
        res.exists = true;
        if (this.learnKeywords(rec.flags)) res.keywords = true;
      }
    }
    for (const uid of ch.expunged) if (this.indexOfUid(uid) >= 0) this.pending.add(uid);
    if (ch.highestModSeq > this.highestModSeq) this.highestModSeq = ch.highestModSeq;
    return res;
  }

  /** Marks messages this session expunged itself. */
  markExpunged(uids: number[]): void {
    for (const uid of uids) if (this.indexOfUid(uid) >= 0) this.pending.add(uid);
  }

  /**
   * Removes the messages marked expunged, returning their sequence numbers in the order the
   * EXPUNGE responses must go out (each one renumbers those after it) and their UIDs.
   */
  takeExpunged(): { seqs: number[]; uids: number[] } {
    if (!this.pending.size) return { seqs: [], uids: [] };
    const seqs: number[] = [];
    const uids: number[] = [];
    const u2: number[] = [], f2: string[] = [], m2: number[] = [];
    for (let i = 0; i < this.uids.length; i++) {
      const uid = this.uids[i];
      if (this.pending.has(uid)) {
        // Announced in order: the n-th removal sees the earlier ones gone already.
        seqs.push(i + 1 - seqs.length);
        uids.push(uid);
      } else {
        u2.push(uid);
        f2.push(this.flagCol[i]);
        m2.push(this.modseqs[i]);
      }
    }
    this.uids = u2;
    this.flagCol = f2;
    this.modseqs = m2;
    this.pending.clear();
    return { seqs, uids };
  }
}

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];

/** The FLAGS and PERMANENTFLAGS responses of SELECT (RFC 9051 7.3.5, 7.1), sent again when a keyword is new. */
export function flagsResponses(box: SelectedMailbox): string[] {
  const flags = [...SYSTEM_FLAGS, ...box.knownKeywords()].join(' ');
  return [
    `FLAGS (${flags})`,
    `OK [PERMANENTFLAGS (${box.readOnly ? '' : flags + ' \\*'})] ${box.readOnly ? 'read-only' : 'flags and keywords'}`,
  ];
}

function lowerBound(a: number[], x: number): number {
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function sameFlags(a: string, b: string[]): boolean {
  const as = a ? a.split(' ') : [];
  if (as.length !== b.length) return false;
  for (const f of b) if (!as.includes(f)) return false;
  return true;
}
