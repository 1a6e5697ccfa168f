import type { QueueStore } from '../store/queue.js';
import type { BlobStore } from '../store/blobs.js';
import type { Logger } from '../log/logger.js';
import type { Intake, MessageEnvelope } from './types.js';
import { buildDsn, type DsnRecipient } from './dsn.js';

/**
 * The one way Correo tells a sender what became of a message (S5): an RFC 3464 DSN from
 * MAILER-DAEMON, queued with the null sender like any message, so it can never bounce in turn
 * (RFC 5321 6.1). Local and remote delivery both come here.
 *
 * RFC 3461 4.1 NOTIFY decides who hears what:
 * - NEVER: nothing, ever.
 * - no NOTIFY given: failures and delays (RFC 3461 4.1 leaves DELAY to the MTA; sendmail and
 *   Postfix send delay warnings by default).
 * - otherwise exactly the listed kinds (SUCCESS, DELAY, FAILURE).
 * RET=HDRS returns only the headers of a failed message; delay and success reports always
 * carry only the headers (RFC 3461 4.3 ties RET to failed DSNs).
 */

export type ReportKind = 'failure' | 'delay' | 'success';

export interface ReportItem {
  /** queue_rcpt.rcpt of the row this is about. */
  rcpt: string;
  /** queue_rcpt.notify: "SUCCESS,FAILURE", "NEVER" or null. */
  notify: string | null;
  dsn: DsnRecipient;
}

export function wantsReport(notify: string | null, kind: ReportKind): boolean {
  const n = (notify ?? '').toUpperCase().split(',').filter(Boolean);
  if (n.includes('NEVER')) return false;
  if (!n.length) return kind !== 'success';
  return n.includes(kind === 'failure' ? 'FAILURE' : kind === 'delay' ? 'DELAY' : 'SUCCESS');
}

export class Bouncer {
  constructor(
    private readonly queue: QueueStore,
    private readonly blobs: BlobStore,
    private readonly intake: Intake,
    private readonly log: Logger,
    private readonly hostname: string,
  ) {}

  /**
   * Queues one DSN about `items` of queue entry `queueId`, for those whose NOTIFY asks for it.
   * Returns the DSN's queue id, or null when none was due (null sender, NOTIFY). Throws when the
   * DSN could not be queued (disk full...): the caller keeps the recipients to try again.
   */
  async report(queueId: string, items: ReportItem[], kind: ReportKind): Promise<string | null> {
    const row = await this.queue.entry(queueId);
    if (!row || !row.sender) return null;
    const wanted = items.filter((i) => wantsReport(i.notify, kind));
    if (!wanted.length) return null;
    const env = JSON.parse(row.envelope) as MessageEnvelope;
    const original = await this.blobs.read(row.blobId);
    const dsn = buildDsn({
      reportingMta: this.hostname, to: row.sender, queueId, arrivalDate: new Date(row.created), envid: env.envid,
      recipients: wanted.map((i) => i.dsn), original: original.subarray(row.traceSkip),
      headersOnly: kind !== 'failure' || env.ret === 'HDRS',
    });
    const w = await this.intake.begin(
      { sender: '', recipients: [{ address: row.sender }], clientAddress: '127.0.0.1', helo: this.hostname, via: 'dsn' },
      `Received: by ${this.hostname} (Correo) id DSN-${queueId};\r\n\t${new Date().toUTCString().replace(/GMT$/, '+0000')}\r\n`,
    );
    try {
      await w.write(dsn);
      await w.commit();
    } catch (e) {
      await w.abort();
      throw e;
    }
    const what = kind === 'failure' ? 'sender non-delivery notification' : kind === 'delay' ? 'sender delay notification' : 'sender delivery status notification';
    this.log.info(queueId, `${what}: ${w.id}`);
    return w.id;
  }
}
