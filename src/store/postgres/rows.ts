import type { Mailbox, MessageRecord } from '../types.js';

/** Row shapes of the PostgreSQL tables (bigint read as numbers, connect.ts) and their records. */
export interface PgMailboxRow {
  id: number; user_id: number; name: string; uidvalidity: number; uidnext: number;
  highestmodseq: number; special_use: string | null; subscribed: boolean;
}

export interface PgMessageRow {
  id: number; mailbox_id: number; uid: number; blob_id: string; size: number;
  internaldate: number; flags: string; modseq: number;
}

export const pgMailbox = (r: PgMailboxRow): Mailbox => ({
  id: r.id, userId: r.user_id, name: r.name, uidValidity: r.uidvalidity, uidNext: r.uidnext,
  highestModSeq: r.highestmodseq, specialUse: r.special_use, subscribed: r.subscribed,
});

export const pgMessage = (r: PgMessageRow): MessageRecord => ({
  id: r.id, mailboxId: r.mailbox_id, uid: r.uid, blobId: r.blob_id, size: r.size,
  internalDate: r.internaldate, flags: r.flags ? r.flags.split(' ') : [], modSeq: r.modseq,
});

export const MESSAGE_COLUMNS = 'id, mailbox_id, uid, blob_id, size, internaldate, flags, modseq';
