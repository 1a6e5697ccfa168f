import type { Store } from '../store/types.js';
import type { Logger } from '../log/logger.js';
import type { AccountSecret, Authenticator, AuthOutcome, AuthService } from './types.js';
import { dummyHash, verifyPassword } from './password.js';
import { FailureThrottle } from './throttle.js';
import { deriveSecret, type DeriveOptions, type SecretScheme } from './secrets.js';
import type { SecretStore } from './secret-store.js';

export interface AuthenticatorOptions {
  store: Store;
  log: Logger;
  domains: string[];
  /** Failures per client address within `windowSeconds` before it is throttled; an account gets 4 times as many. */
  limit: number;
  windowSeconds: number;
  /** Challenge-response secrets; null: only PLAIN/LOGIN/USER-PASS work. */
  secrets?: SecretStore | null;
  /** Schemes to keep current: a successful password login fills in a missing one. */
  schemes?: SecretScheme[];
  derive?: DeriveOptions;
}

/**
 * Password checks for every service, with failures counted per client address and per
 * account. Addresses are full (user@domain); a bare local part is qualified with the only
 * local domain when there is exactly one (what users of a one-domain server type).
 */
export class PasswordAuthenticator implements Authenticator {
  private readonly byClient: FailureThrottle;
  private readonly byAccount: FailureThrottle;
  private readonly store: Store;
  private readonly log: Logger;
  private readonly domains: string[];

  constructor(private readonly o: AuthenticatorOptions) {
    this.store = o.store;
    this.log = o.log;
    this.domains = o.domains;
    this.byClient = new FailureThrottle(o.limit, o.windowSeconds * 1000);
    // An account under attack from many addresses: a higher bar, so one client cannot lock a user out.
    this.byAccount = new FailureThrottle(o.limit * 4, o.windowSeconds * 1000);
  }

  qualify(login: string): string {
    const l = login.trim().toLowerCase();
    if (!l.includes('@') && this.domains.length === 1) return `${l}@${this.domains[0]}`;
    return l;
  }

  isThrottled(clientAddress: string): boolean {
    return this.byClient.throttled(clientAddress);
  }

  private throttled(address: string, clientAddress: string): boolean {
    return this.byClient.throttled(clientAddress) || this.byAccount.throttled(address);
  }

  async verify(login: string, password: string, service: AuthService, clientAddress: string, mechanism?: string): Promise<AuthOutcome> {
    const address = this.qualify(login);
    const mech = mechanism ? `, mechanism=${mechanism}` : '';
    if (this.throttled(address, clientAddress)) {
      this.log.warn(null, `auth throttled: service=${service}${mech}, user=${address}, client=${clientAddress}`);
      return { ok: false, reason: 'throttled' };
    }
    const stored = await this.store.getPasswordHash(address);
    const ok = await verifyPassword(password, stored ?? (await dummyHash()));
    if (ok && stored) {
      this.byClient.succeed(clientAddress);
      this.log.info(null, `auth ok: service=${service}${mech}, user=${address}, client=${clientAddress}`);
      await this.fillSecrets(address, password, stored);
      return { ok: true, user: address };
    }
    this.byClient.fail(clientAddress);
    this.byAccount.fail(address);
    this.log.notice(null, `auth failed: service=${service}${mech}, user=${address}, client=${clientAddress}`);
    return { ok: false, reason: 'bad-credentials' };
  }

  /**
   * A scheme the admin enabled after this password was set has no secret yet: the password
   * just proved right is the moment to make it (otherwise every user would need a new password).
   */
  private async fillSecrets(address: string, password: string, passwordHash: string): Promise<void> {
    const { secrets, schemes, derive } = this.o;
    if (!secrets || !schemes?.length || !derive) return;
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
    if (this.throttled(address, clientAddress)) {
      this.log.warn(null, `auth throttled: mechanism=${scheme}, user=${address}, client=${clientAddress}`);
      return { user: null, secret: null, throttled: true };
    }
    if (!this.o.secrets) return { user: null, secret: null, throttled: false };
    const r = await this.o.secrets.get(address, scheme);
    if (r.user && r.secret === null) this.log.notice(null, `auth: ${address} has no ${scheme} secret yet (set the password again, or log in once with PLAIN/LOGIN)`);
    return { ...r, throttled: false };
  }

  settle(login: string, user: string | null, ok: boolean, service: AuthService, clientAddress: string, mechanism: string): AuthOutcome {
    const address = user ?? this.qualify(login);
    if (ok && user) {
      this.byClient.succeed(clientAddress);
      this.log.info(null, `auth ok: service=${service}, mechanism=${mechanism}, user=${address}, client=${clientAddress}`);
      return { ok: true, user };
    }
    this.byClient.fail(clientAddress);
    this.byAccount.fail(address);
    this.log.notice(null, `auth failed: service=${service}, mechanism=${mechanism}, user=${address}, client=${clientAddress}`);
    return { ok: false, reason: 'bad-credentials' };
  }
}
