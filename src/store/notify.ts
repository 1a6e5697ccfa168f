import { EventEmitter } from 'node:events';

/**
 * "Mailbox N changed": new mail from the queue, flags, expunges and appends by other sessions,
 * for IMAP IDLE and NOOP (RFC 9051 5.2, 7.4.1). Only the id travels; a listener reads what
 * changed from the store by mod-sequence, so a notification can be redundant, never wrong.
 * Behind an interface so that several nodes can share it (PostgreSQL LISTEN/NOTIFY).
 */
export interface ChangeNotifier {
  publish(mailboxId: number): void;
  /** Returns the function that stops the subscription. */
  subscribe(listener: (mailboxId: number) => void): () => void;
}

/** The notifier of one process. */
export class InProcessNotifier implements ChangeNotifier {
  private readonly events = new EventEmitter();

  constructor() {
    this.events.setMaxListeners(0);
  }

  publish(mailboxId: number): void {
    this.events.emit('mailbox', mailboxId);
  }

  subscribe(listener: (mailboxId: number) => void): () => void {
    this.events.on('mailbox', listener);
    return () => this.events.off('mailbox', listener);
  }
}

/**
 * "The queue has work": local deliveries to make, or remote ones. The spool and the queue
 * runners wake each other through it instead of holding references to each other; several
 * nodes would share it (PostgreSQL LISTEN/NOTIFY).
 */
export type QueueName = 'local' | 'remote';

export interface QueueSignal {
  wake(queue: QueueName): void;
  onWake(queue: QueueName, listener: () => void): () => void;
}

export class InProcessQueueSignal implements QueueSignal {
  private readonly events = new EventEmitter();

  wake(queue: QueueName): void {
    this.events.emit(queue);
  }

  onWake(queue: QueueName, listener: () => void): () => void {
    this.events.on(queue, listener);
    return () => this.events.off(queue, listener);
  }
}
