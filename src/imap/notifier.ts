import type { ChangeNotifier } from '../store/notify.js';

/** What a session does when a mailbox it has selected changed elsewhere. */
export interface Watcher {
  mailboxChanged(mailboxId: number): void;
}

/**
 * Tells the sessions that have a mailbox selected that it changed (RFC 9051 5.2, 7.4.1):
 * new mail from the queue (ctx.changes), flags, expunges and appends by other
 * sessions. It carries only the mailbox id; each session reads what changed from the store
 * by mod-sequence, so a notification can never be wrong, only redundant.
 */
export class MailboxNotifier {
  private readonly watchers = new Map<number, Set<Watcher>>();

  constructor(private readonly changes: ChangeNotifier) {
    changes.subscribe((id) => this.fire(id));
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

  /** Announce a change made by a session (through the store's notifier, so other listeners hear it too). */
  changed(mailboxId: number): void {
    this.changes.publish(mailboxId);
  }

  private fire(mailboxId: number): void {
    const s = this.watchers.get(mailboxId);
    if (!s) return;
    for (const w of s) w.mailboxChanged(mailboxId);
  }
}

const notifiers = new WeakMap<ChangeNotifier, MailboxNotifier>();

/** One notifier per server (per Context's change notifier), shared by its IMAP listeners. */
export function notifierFor(changes: ChangeNotifier): MailboxNotifier {
  let n = notifiers.get(changes);
  if (!n) notifiers.set(changes, (n = new MailboxNotifier(changes)));
  return n;
}
