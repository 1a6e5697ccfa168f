import type { MessageRecord, Mailbox } from '../store/types.js';

/**
 * The maildrop as a session sees it: a snapshot of INBOX taken at login (RFC 1939 4: message
 * numbers are fixed for the session; mail arriving later shows up at the next login), with
 * the deletion marks of this session. Nothing here touches the store; deletions are applied
 * by the session in UPDATE state.
 */
export class Maildrop {
  private readonly deleted: boolean[];

  constructor(readonly mailbox: Mailbox, private readonly messages: MessageRecord[]) {
    this.deleted = messages.map(() => false);
  }

  /** RFC 1939 5 STAT: messages not marked deleted, and their octets. */
  stat(): { count: number; octets: number } {
    let count = 0, octets = 0;
    for (let i = 0; i < this.messages.length; i++) {
      if (this.deleted[i]) continue;
      count++;
      octets += this.messages[i].size;
    }
    return { count, octets };
  }

  /** Message `n` (1-based): the record, 'deleted', or null when there is no such number. */
  get(n: number): MessageRecord | 'deleted' | null {
    if (n < 1 || n > this.messages.length) return null;
    return this.deleted[n - 1] ? 'deleted' : this.messages[n - 1];
  }

  /** Numbers and records of the messages not marked deleted, in order. */
  *live(): Generator<[number, MessageRecord]> {
    for (let i = 0; i < this.messages.length; i++) if (!this.deleted[i]) yield [i + 1, this.messages[i]];
  }

  /** Marks message n; false when it does not exist or is already marked. */
  markDeleted(n: number): boolean {
    if (this.get(n) === null || this.deleted[n - 1]) return false;
    this.deleted[n - 1] = true;
    return true;
  }

  /** RFC 1939 5 RSET: unmark all. */
  reset(): void {
    this.deleted.fill(false);
  }

  /** Store ids of the messages marked deleted. */
  deletedIds(): number[] {
    return this.messages.filter((_, i) => this.deleted[i]).map((m) => m.id);
  }

  /** RFC 1939 7 UIDL: stable across sessions and restarts, since UIDVALIDITY and UID are. */
  uniqueId(m: MessageRecord): string {
    return `${this.mailbox.uidValidity}.${m.uid}`;
  }
}
