import type pg from 'pg';
import type { PgCommitter } from './committer.js';
import { hashRef } from '../sqlite/ops-mailbox.js';
import type { SecretLookup, SecretStore, UserDirectory } from '../accounts.js';

/** SASL secrets on PostgreSQL (table sasl_secrets). */
export class PgSecrets implements SecretStore {
  constructor(private readonly pool: pg.Pool, private readonly w: PgCommitter) {}

  async get(address: string, scheme: string): Promise<SecretLookup> {
    const row = (await this.pool.query<{ address: string; password_hash: string; secret: string | null; hash_ref: string | null }>(
      `SELECT u.address, u.password_hash, s.secret, s.hash_ref FROM users u
         LEFT JOIN sasl_secrets s ON s.user_id = u.id AND s.scheme = $1
        WHERE u.address = $2`, [scheme, address.toLowerCase()])).rows[0];
    if (!row) return { user: null, secret: null };
    const fresh = row.secret !== null && row.hash_ref === hashRef(row.password_hash);
    return { user: row.address, secret: fresh ? row.secret : null };
  }

  replace(address: string, passwordHash: string, secrets: Partial<Record<string, string>>): Promise<void> {
    return this.w.one({ op: 'secrets.write', address, passwordHash, secrets: secrets as Record<string, string>, clear: true });
  }

  add(address: string, passwordHash: string, secrets: Partial<Record<string, string>>): Promise<void> {
    return this.w.one({ op: 'secrets.write', address, passwordHash, secrets: secrets as Record<string, string>, clear: false });
  }
}

/**
 * "Does this user exist", answered synchronously (accounts.ts) from a copy of the address list
 * kept in memory: loaded at open, changed at once by this node's own commits, and reloaded
 * when another node says it changed users (notify.ts), when the notification connection
 * comes back after an outage (a change may have been missed), and once a minute.
 */
export class PgUserDirectory implements UserDirectory {
  private addresses = new Set<string>();
  private loading: Promise<void> | null = null;

  constructor(private readonly pool: pg.Pool) {}

  has(address: string): boolean {
    return this.addresses.has(address.toLowerCase());
  }

  added(address: string): void {
    this.addresses.add(address.toLowerCase());
  }

  removed(address: string): void {
    this.addresses.delete(address.toLowerCase());
  }

  /** Reads the list again; concurrent calls share one read. Errors (an outage) keep the old list. */
  reload(): Promise<void> {
    this.loading ??= (async () => {
      try {
        const rows = (await this.pool.query<{ address: string }>('SELECT address FROM users')).rows;
        this.addresses = new Set(rows.map((r) => r.address));
      } finally {
        this.loading = null;
      }
    })();
    return this.loading;
  }
}
