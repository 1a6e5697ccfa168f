import type { EventEmitter } from 'node:events';

/** What a session does when a mailbox it has selected changed elsewhere. */
export interface Watcher {
  mailboxChanged(mailboxId: number): void;
}

/**
 * Tells the sessions that have a mailbox selected that it changed (RFC 9051 5.2, 7.4.1):
 * new mail from the queue (ctx.events 'mailbox'), flags, expunges and appends by other
 * sessions. It carries only the mailbox id; each session reads what changed from the store
 * by mod-sequence, so a notification can never be wrong, only redundant.
 */
export class MailboxNotifier {
  private readonly watchers = new Map<number, Set<Watcher>>();

  constructor(private readonly events: EventEmitter) {
    events.on('mailbox', (id: number) => this.fire(id));
  }

  watch(mailboxId: number, w: Watcher): void {
    let s = this.watchers.get(mailboxId);
    if (!s) this.watchers.set(mailboxId, (s = new Set()));
    s.add(w);
  }

  unwatch(mailboxId: number, w: Watcher): void {
    const s = this.watchers.get(mailboxId);
    if (!s) return;
    s.delete(w);
    if (!s.size) this.watchers.delete(mailboxId);
  }

  /** Announce a change made by a session (through the shared event, so other listeners hear it too). */
  changed(mailboxId: number): void {
    this.events.emit('mailbox', mailboxId);
  }

  private fire(mailboxId: number): void {
    const s = this.watchers.get(mailboxId);
    if (!s) return;
    for (const w of s) w.mailboxChanged(mailboxId);
  }
}

const notifiers = new WeakMap<EventEmitter, MailboxNotifier>();

/** One notifier per server (per Context's event emitter), shared by its IMAP listeners. */
export function notifierFor(events: EventEmitter): MailboxNotifier {
  let n = notifiers.get(events);
  if (!n) notifiers.set(events, (n = new MailboxNotifier(events)));
  return n;
}
