import { createHash } from 'node:crypto';
import type { DB } from '../store/db.js';
import type { SecretScheme } from './secrets.js';

/**
 * Where the challenge-response secrets live: a table of their own beside `users` (created
 * here at start-up, like queue/outbound-schema.ts, so it does not race the store's numbered
 * migrations). Rows go with their user (ON DELETE CASCADE).
 *
 * Each row remembers a digest of the password hash it was derived with: a password changed
 * by any other path leaves the old secrets stale, and a stale secret is never used (it would
 * let the old password in).
 */
export function ensureSecretSchema(db: DB): void {
  db.exec(`CREATE TABLE IF NOT EXISTS sasl_secrets (
             user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
             scheme TEXT NOT NULL,
             secret TEXT NOT NULL,
             hash_ref TEXT NOT NULL,
             PRIMARY KEY (user_id, scheme)
           ) WITHOUT ROWID`);
}

export function hashRef(passwordHash: string): string {
  return createHash('sha256').update(passwordHash).digest('base64').slice(0, 22);
}

export interface SecretLookup {
  /** The account's address as stored, or null when there is no such user. */
  user: string | null;
  /** The current secret of the scheme, null when none was made (or it is stale). */
  secret: string | null;
}

/** Promise-based like the Store, so that another database can stand behind it. */
export interface SecretStore {
  get(address: string, scheme: SecretScheme): Promise<SecretLookup>;
  /** Replaces every secret of the user with these, tied to the password hash they came from. */
  replace(address: string, passwordHash: string, secrets: Partial<Record<SecretScheme, string>>): Promise<void>;
  /** Adds or refreshes some secrets, keeping the others. */
  add(address: string, passwordHash: string, secrets: Partial<Record<SecretScheme, string>>): Promise<void>;
}

export class SqliteSecretStore implements SecretStore {
  private readonly q;
  constructor(private readonly db: DB) {
    ensureSecretSchema(db);
    this.q = {
      get: db.prepare<[string, string], { address: string; password_hash: string; secret: string | null; hash_ref: string | null }>(
        `SELECT u.address, u.password_hash, s.secret, s.hash_ref FROM users u
           LEFT JOIN sasl_secrets s ON s.user_id = u.id AND s.scheme = ?
          WHERE u.address = ?`),
      user: db.prepare<[string, string], { id: number }>('SELECT id FROM users WHERE address = ? AND password_hash = ?'),
      clear: db.prepare<[number]>('DELETE FROM sasl_secrets WHERE user_id = ?'),
      put: db.prepare<[number, string, string, string]>('INSERT OR REPLACE INTO sasl_secrets (user_id, scheme, secret, hash_ref) VALUES (?, ?, ?, ?)'),
    };
  }

  async get(address: string, scheme: SecretScheme): Promise<SecretLookup> {
    const row = this.q.get.get(scheme, address.toLowerCase());
    if (!row) return { user: null, secret: null };
    const fresh = row.secret !== null && row.hash_ref === hashRef(row.password_hash);
    return { user: row.address, secret: fresh ? row.secret : null };
  }

  async replace(address: string, passwordHash: string, secrets: Partial<Record<SecretScheme, string>>): Promise<void> {
    this.write(address, passwordHash, secrets, true);
  }

  async add(address: string, passwordHash: string, secrets: Partial<Record<SecretScheme, string>>): Promise<void> {
    this.write(address, passwordHash, secrets, false);
  }

  private write(address: string, passwordHash: string, secrets: Partial<Record<SecretScheme, string>>, clear: boolean): void {
    this.db.transaction(() => {
      // Only if the password is still the one the secrets came from (no race with a change).
      const u = this.q.user.get(address.toLowerCase(), passwordHash);
      if (!u) return;
      if (clear) this.q.clear.run(u.id);
      const ref = hashRef(passwordHash);
      for (const [scheme, secret] of Object.entries(secrets)) this.q.put.run(u.id, scheme, secret!, ref);
    })();
  }
}
