import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../store/types.js';
import type { Logger } from '../log/logger.js';
import type { AccountSecret, Authenticator, AuthOutcome, AuthService } from './types.js';
import { DUMMY_HASH, verifyPassword } from './password.js';
import { FailureLedger } from './throttle.js';
import { clientKey } from '../policy/ip.js';
import { LoginCache } from './login-cache.js';
import { decoySecret } from './decoy.js';
import { deriveSecret, type DeriveOptions, type SecretScheme } from './secrets.js';
import type { SecretStore } from './secret-store.js';

export interface AuthenticatorOptions {
  store: Store;
  log: Logger;
  domains: string[];
  /** Failures per client address within `windowSeconds` before it is throttled; 4 times as many mark an account under attack. */
  limit: number;
  windowSeconds: number;
  /** Seconds a verified login is remembered (login-cache.ts); 0: every login runs scrypt. */
  cacheTtlSeconds: number;
  /** Challenge-response secrets; null: only PLAIN/LOGIN/USER-PASS work. */
  secrets?: SecretStore | null;
  /** Schemes to keep current: a successful password login fills in a missing one. */
  schemes?: SecretScheme[];
  /** For secrets made at login and for decoys (their SCRAM iteration count). */
  derive: DeriveOptions;
  /** The key decoy salts are made with (decoy.ts), read when first needed. */
  decoyKey: () => Buffer;
}

/**
 * How long every attempt at an account under attack waits before it is checked: guessing
 * from many addresses slows down, the owner's login only waits (Dovecot's auth_failure_delay
 * is 2 s for every failure).
 */
const ATTACK_DELAY_MS = 2000;

/**
 * Password checks for every service, with failures counted per client address and per
 * account (throttle.ts). Addresses are full (user@domain); a bare local part is qualified
 * with the only local domain when there is exactly one (what users of a one-domain server type).
 */
export class PasswordAuthenticator implements Authenticator {
  private readonly ledger: FailureLedger;
  private readonly cache: LoginCache;
  private readonly store: Store;
  private readonly log: Logger;
  private readonly domains: string[];

  constructor(private readonly o: AuthenticatorOptions) {
    this.store = o.store;
    this.log = o.log;
    this.domains = o.domains;
    this.ledger = new FailureLedger({ perClient: o.limit, perAccount: o.limit * 4, windowMs: o.windowSeconds * 1000 });
    this.cache = new LoginCache(o.cacheTtlSeconds * 1000);
  }

  qualify(login: string): string {
    const l = login.trim().toLowerCase();
    if (!l.includes('@') && this.domains.length === 1) return `${l}@${this.domains[0]}`;
    return l;
  }

  isThrottled(clientAddress: string): boolean {
    return this.ledger.clientThrottled(clientKey(clientAddress));
  }

  /** Whether this attempt gets checked at all; an account under attack makes it wait first. */
  private async admit(account: string, clientAddress: string, what: string): Promise<boolean> {
    if (!this.ledger.throttled(clientKey(clientAddress), account)) {
      if (!this.ledger.underAttack(account)) return true;
      await sleep(ATTACK_DELAY_MS);
      // The attempts that waited with this one may have pushed this address over its limit.
      if (!this.ledger.throttled(clientKey(clientAddress), account)) return true;
    }
    this.log.warn(null, `auth throttled: ${what}`);
    return false;
  }

  async verify(login: string, password: string, service: AuthService, clientAddress: string, mechanism?: string): Promise<AuthOutcome> {
    const address = this.qualify(login);
    const mech = mechanism ? `, mechanism=${mechanism}` : '';
    const what = `service=${service}${mech}, user=${address}, client=${clientAddress}`;
    if (!(await this.admit(address, clientAddress, what))) return { ok: false, reason: 'throttled' };
    const stored = await this.store.getPasswordHash(address);
    if (stored !== null && this.cache.hit(address, password, stored)) {
      this.ledger.succeed(clientKey(clientAddress), address);
      this.log.info(null, `auth ok: ${what}, cached`);
      return { ok: true, user: address };
    }
    // An unknown user costs the same scrypt as a known one (issue 9.8).
    const ok = (await verifyPassword(password, stored ?? DUMMY_HASH)) && stored !== null;
    if (ok) {
      this.cache.remember(address, password, stored);
      this.ledger.succeed(clientKey(clientAddress), address);
      this.log.info(null, `auth ok: ${what}`);
      await this.fillSecrets(address, password, stored);
      return { ok: true, user: address };
    }
    this.ledger.fail(clientKey(clientAddress), address);
    this.log.notice(null, `auth failed: ${what}`);
    return { ok: false, reason: 'bad-credentials' };
  }

  /**
   * A scheme the admin enabled after this password was set has no secret yet: the password
   * just proved right is the moment to make it (otherwise every user would need a new password).
   */
  private async fillSecrets(address: string, password: string, passwordHash: string): Promise<void> {
    const { secrets, schemes, derive } = this.o;
    if (!secrets || !schemes?.length) return;
    try {
      const missing: Partial<Record<SecretScheme, string>> = {};
      for (const s of schemes) if ((await secrets.get(address, s)).secret === null) missing[s] = deriveSecret(s, address, password, derive);
      if (Object.keys(missing).length) {
        await secrets.add(address, passwordHash, missing);
        this.log.info(null, `auth: made ${Object.keys(missing).join(', ')} secret(s) for ${address} at login`);
      }
    } catch (e) {
      this.log.warn(null, `auth: cannot store secrets for ${address}: ${(e as Error).message}`);
    }
  }

  async lookup(login: string, scheme: SecretScheme, clientAddress: string): Promise<AccountSecret> {
    const address = this.qualify(login);
    if (!(await this.admit(address, clientAddress, `mechanism=${scheme}, user=${address}, client=${clientAddress}`))) return { throttled: true };
    const r = this.o.secrets ? await this.o.secrets.get(address, scheme) : { user: null, secret: null };
    if (r.user !== null && r.secret !== null) return { throttled: false, user: r.user, secret: r.secret, genuine: true };
    if (r.user !== null) this.log.notice(null, `auth: ${address} has no ${scheme} secret yet (set the password again, or log in once with PLAIN/LOGIN)`);
    return { throttled: false, user: r.user, secret: decoySecret(scheme, address, this.o.decoyKey(), this.o.derive), genuine: false };
  }

  settle(login: string, user: string | null, ok: boolean, service: AuthService, clientAddress: string, mechanism: string): AuthOutcome {
    const address = user ?? this.qualify(login);
    const what = `service=${service}, mechanism=${mechanism}, user=${address}, client=${clientAddress}`;
    if (ok && user) {
      this.ledger.succeed(clientKey(clientAddress), address);
      this.log.info(null, `auth ok: ${what}`);
      return { ok: true, user };
    }
    this.ledger.fail(clientKey(clientAddress), address);
    this.log.notice(null, `auth failed: ${what}`);
    return { ok: false, reason: 'bad-credentials' };
  }
}
