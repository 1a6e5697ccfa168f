import type { User } from './types.js';

/**
 * Users and their credentials. Addresses are full ("usr1@example.test") and compared
 * lower-cased. Every method is Promise-based so that a networked backend can stand behind it.
 */
export interface AccountStore {
  /** Creates the user with the default folders (INBOX, Drafts, Sent, Trash, Junk, Archive) in one transaction. */
  createUser(address: string, passwordHash: string): Promise<User>;
  /** Removes the user, their mailboxes, messages and secrets; bodies no one else holds go too. */
  deleteUser(address: string): Promise<boolean>;
  getUser(address: string): Promise<User | null>;
  getUserById(id: number): Promise<User | null>;
  listUsers(): Promise<User[]>;
  /** The scrypt hash ("!" for an account without a password yet), null when there is no such user. */
  getPasswordHash(address: string): Promise<string | null>;
  /** False when there is no such user. */
  setPasswordHash(address: string, passwordHash: string): Promise<boolean>;
}

/** Challenge-response schemes whose secrets are kept (auth/secrets.ts derives them). */
export type SecretSchemeName = string;

export interface SecretLookup {
  /** The account's address as stored, or null when there is no such user. */
  user: string | null;
  /** The current secret of the scheme, null when none was made (or it is stale). */
  secret: string | null;
}

/**
 * SASL secrets (CRAM-MD5, DIGEST-MD5, SCRAM): each is tied to a digest of the password hash it
 * was derived with, so a password changed by any other path leaves the old secrets stale, and
 * a stale secret is never used (it would let the old password in).
 */
export interface SecretStore {
  get(address: string, scheme: SecretSchemeName): Promise<SecretLookup>;
  /** Replaces every secret of the user with these, if `passwordHash` is still the user's. */
  replace(address: string, passwordHash: string, secrets: Partial<Record<SecretSchemeName, string>>): Promise<void>;
  /** Adds or refreshes some secrets, keeping the others (same condition). */
  add(address: string, passwordHash: string, secrets: Partial<Record<SecretSchemeName, string>>): Promise<void>;
}

/**
 * "Does this user exist", answered synchronously: recipient resolution (aliases, forward
 * lists) runs at RCPT time in many places that are synchronous today. The SQLite store answers
 * from its read connection; a networked backend would answer from a local copy kept current by
 * change notifications (docs/DECISIONS.md).
 */
export interface UserDirectory {
  has(address: string): boolean;
}
