import { createHash, createHmac, randomBytes } from 'node:crypto';

/**
 * Logins verified recently, so that a client logging in again and again (a mail client's
 * many short sessions; issue 8's login-heavy load) does not cost an scrypt each time: the
 * way Dovecot's auth cache works. Only successes are kept, for `ttlMs`.
 *
 * - The key is an HMAC-SHA-256 of account and password under a salt made at process start:
 *   nothing here gives the password back, and the map cannot be precomputed against.
 * - Each entry holds a digest of the password hash it was verified against. A hit counts only
 *   while the stored hash still has that digest, which the caller reads anyway (one indexed
 *   read), so a password changed or an account deleted by any process (`correo user passwd`
 *   from the command line included) ends the cached login at once.
 */
export class LoginCache {
  private readonly salt = randomBytes(32);
  private readonly entries = new Map<string, { hashDigest: string; expires: number }>();

  constructor(private readonly ttlMs: number, private readonly maxEntries = 100_000) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  private key(account: string, password: string): string {
    return createHmac('sha256', this.salt).update(account).update('\0').update(password).digest('base64');
  }

  /** Whether `password` was verified for `account` within the TTL against this same stored hash. */
  hit(account: string, password: string, storedHash: string, now = Date.now()): boolean {
    if (!this.enabled) return false;
    const k = this.key(account, password);
    const e = this.entries.get(k);
    if (!e) return false;
    if (e.expires > now && e.hashDigest === digest(storedHash)) return true;
    this.entries.delete(k);
    return false;
  }

  remember(account: string, password: string, storedHash: string, now = Date.now()): void {
    if (!this.enabled) return;
    if (this.entries.size >= this.maxEntries) this.sweep(now);
    this.entries.set(this.key(account, password), { hashDigest: digest(storedHash), expires: now + this.ttlMs });
  }

  private sweep(now: number): void {
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
    // Still full (a burst of distinct logins within one TTL): the oldest entries go first,
    // down to 90%, so that the next sweep is many logins away.
    for (const k of this.entries.keys()) {
      if (this.entries.size < this.maxEntries * 0.9) break;
      this.entries.delete(k);
    }
  }
}

const digest = (passwordHash: string) => createHash('sha256').update(passwordHash).digest('base64');
