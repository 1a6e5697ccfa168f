import type { DB } from './schema.js';
import type { Committer } from './committer.js';
import { hashRef } from './ops-mailbox.js';
import type { SecretLookup, SecretStore, UserDirectory } from '../accounts.js';

/** SASL secrets on SQLite (table sasl_secrets, one row per user and scheme). */
export class SqliteSecrets implements SecretStore {
  private readonly q;

  constructor(db: DB, private readonly w: Committer) {
    this.q = {
      get: db.prepare<[string, string], { address: string; password_hash: string; secret: string | null; hash_ref: string | null }>(
        `SELECT u.address, u.password_hash, s.secret, s.hash_ref FROM users u
           LEFT JOIN sasl_secrets s ON s.user_id = u.id AND s.scheme = ?
          WHERE u.address = ?`),
    };
  }

  async get(address: string, scheme: string): Promise<SecretLookup> {
    const row = this.q.get.get(scheme, address.toLowerCase());
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

/** "Does this user exist" from the read connection (accounts.ts UserDirectory). */
export class SqliteUserDirectory implements UserDirectory {
  private readonly q;

  constructor(db: DB) {
    this.q = db.prepare<[string], { one: number }>('SELECT 1 AS one FROM users WHERE address = ?');
  }

  has(address: string): boolean {
    return this.q.get(address.toLowerCase()) !== undefined;
  }
}
