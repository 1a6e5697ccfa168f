import pg from 'pg';
import type { Locks } from '../locks.js';

/**
 * Locks shared by every node: PostgreSQL session advisory locks (RFC 1939 4's maildrop lock
 * across nodes), taken on one connection of this node kept for them. A node that dies loses
 * its connection, and the server drops its locks with it: no lease to wait for, no stale lock.
 * Owners (sessions) are told apart in memory, since the database sees one session per node.
 * If the connection drops while the node lives (an outage), the next acquire reconnects and
 * takes the locks still held here again (docs/DECISIONS.md).
 */
export class PgLocks implements Locks {
  private readonly held = new Map<string, string>();
  /** Names whose database lock this node took (held also has those being asked for). */
  private readonly taken = new Set<string>();
  private client: pg.Client | null = null;
  private connecting: Promise<pg.Client> | null = null;
  private closed = false;

  constructor(private readonly config: pg.ClientConfig) {}

  private conn(): Promise<pg.Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= (async () => {
      const c = new pg.Client(this.config);
      c.on('error', () => undefined);
      c.on('end', () => {
        if (this.client === c) this.client = null;
      });
      try {
        await c.connect();
        // Whatever this node still holds is taken again on the new session.
        for (const name of this.taken) await c.query('SELECT pg_try_advisory_lock(hashtextextended($1, 0))', [name]);
        this.client = c;
        return c;
      } catch (e) {
        await c.end().catch(() => undefined);
        throw e;
      } finally {
        this.connecting = null;
      }
    })();
    return this.connecting;
  }

  async acquire(name: string, owner: string): Promise<boolean> {
    if (this.closed) throw new Error('the store is closed');
    const cur = this.held.get(name);
    if (cur !== undefined) return cur === owner;
    // Marked before the round trip: a second session of this node asking meanwhile is refused.
    this.held.set(name, owner);
    try {
      const c = await this.conn();
      const got = (await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [name])).rows[0].ok;
      if (got) this.taken.add(name);
      else this.held.delete(name);
      return got;
    } catch (e) {
      this.held.delete(name);
      throw e;
    }
  }

  async release(name: string, owner: string): Promise<void> {
    if (this.held.get(name) !== owner) return;
    this.held.delete(name);
    this.taken.delete(name);
    const c = this.client;
    if (c) await c.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    const c = this.client ?? (await this.connecting?.catch(() => null));
    this.client = null;
    this.held.clear();
    this.taken.clear();
    await c?.end().catch(() => undefined);
  }
}
