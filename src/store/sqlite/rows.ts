import type { Mailbox, MessageRecord } from '../types.js';

/** Row shapes of the SQLite tables and their conversion to the store's records. */
export interface MailboxRow {
  id: number; user_id: number; name: string; uidvalidity: number; uidnext: number;
  highestmodseq: number; special_use: string | null; subscribed: number;
}

export interface MessageRow {
  id: number; mailbox_id: number; uid: number; blob_id: string; size: number;
  internaldate: number; flags: string; modseq: number;
}

export const toMailbox = (r: MailboxRow): Mailbox => ({
  id: r.id, userId: r.user_id, name: r.name, uidValidity: r.uidvalidity, uidNext: r.uidnext,
  highestModSeq: r.highestmodseq, specialUse: r.special_use, subscribed: !!r.subscribed,
});

export const toMessage = (r: MessageRow): MessageRecord => ({
  id: r.id, mailboxId: r.mailbox_id, uid: r.uid, blobId: r.blob_id, size: r.size,
  internalDate: r.internaldate, flags: r.flags ? r.flags.split(' ') : [], modSeq: r.modseq,
});
