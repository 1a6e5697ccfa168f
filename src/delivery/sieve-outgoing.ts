import type { BlobStore } from '../store/blobs.js';
import type { WriteOp } from '../store/batch.js';
import type { MessageEnvelope } from '../queue/types.js';
import { newQueueId } from '../queue/ids.js';

/** A message Sieve sends, written to its body file and waiting for its queue record. */
export interface StagedMessage {
  id: string;
  /** The queue.insert op that makes it a queue entry: committed in the delivery's own batch. */
  op: WriteOp;
  recipient: string;
}

/**
 * Writes a vacation reply or a redirected copy as a new queue entry's body (fsync'd) and
 * returns the record to commit in the same batch as the delivery that caused it: a crash
 * before that commit leaves only an unreferenced file (swept at the next start), never a
 * reply without its delivery or twice (docs/DECISIONS.md). The queue run then routes it like
 * any message (outbound queue, DKIM, retries, DSNs).
 */
export async function stageMessage(blobs: BlobStore, hostname: string, sender: string, recipient: string, body: Buffer, what: string): Promise<StagedMessage> {
  const id = newQueueId();
  const returnPath = Buffer.from(`Return-Path: <${sender}>\r\n`);
  const received = Buffer.from(`Received: by ${hostname} (Correo Sieve ${what}) id ${id}\r\n\tfor <${recipient}>; ${new Date().toUTCString().replace(/GMT$/, '+0000')}\r\n`);
  const w = await blobs.create(id);
  try {
    await w.write([returnPath, received, body]);
    await w.commit();
  } catch (e) {
    await w.abort();
    throw e;
  }
  const size = returnPath.length + received.length + body.length;
  const envelope: MessageEnvelope = { sender, recipients: [{ address: recipient }], clientAddress: '127.0.0.1', helo: hostname, via: 'sieve' };
  return {
    id,
    recipient,
    op: {
      op: 'queue.insert', id, sender, envelope: JSON.stringify(envelope), via: 'sieve', size, traceSkip: returnPath.length, created: Date.now(),
      recipients: [{ rcpt: recipient, orcpt: null, notify: 'NEVER' }],
    },
  };
}
