/**
 * Exclusive locks by name, held by an owner (a session id): the POP3 maildrop lock (RFC 1939 4:
 * "an exclusive-access lock on the maildrop", so two sessions cannot both delete). Async so that
 * several nodes can share one (a database advisory lock, a lease).
 */
export interface Locks {
  /** True when `owner` now holds `name` (also when it already did). */
  acquire(name: string, owner: string): Promise<boolean>;
  /** Releases `name` if `owner` holds it. */
  release(name: string, owner: string): Promise<void>;
}

/** The locks of one process (one Correo process serves a data_dir with the SQLite store). */
export class InProcessLocks implements Locks {
  private readonly held = new Map<string, string>();

  async acquire(name: string, owner: string): Promise<boolean> {
    const cur = this.held.get(name);
    if (cur !== undefined && cur !== owner) return false;
    this.held.set(name, owner);
    return true;
  }

  async release(name: string, owner: string): Promise<void> {
    if (this.held.get(name) === owner) this.held.delete(name);
  }
}
