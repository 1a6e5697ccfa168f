/**
 * RFC 1939 4: the server "acquires an exclusive-access lock on the maildrop" when a session
 * enters TRANSACTION state, so that two sessions cannot both delete. The lock lives in this
 * process (one Correo process serves a data_dir), one table per store, so POP3 on 110 and
 * on 995 share it.
 */
export class MaildropLocks {
  private readonly held = new Map<number, string>();

  /** True when `owner` now holds the lock on `userId`'s maildrop. */
  acquire(userId: number, owner: string): boolean {
    const cur = this.held.get(userId);
    if (cur !== undefined && cur !== owner) return false;
    this.held.set(userId, owner);
    return true;
  }

  release(userId: number, owner: string): void {
    if (this.held.get(userId) === owner) this.held.delete(userId);
  }

  isHeld(userId: number): boolean {
    return this.held.has(userId);
  }
}

const tables = new WeakMap<object, MaildropLocks>();

/** The lock table of one store (one running server). */
export function locksFor(store: object): MaildropLocks {
  let t = tables.get(store);
  if (!t) tables.set(store, (t = new MaildropLocks()));
  return t;
}
