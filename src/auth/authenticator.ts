import type { Store } from '../store/types.js';
import type { Logger } from '../log/logger.js';
import type { Authenticator, AuthOutcome, AuthService } from './types.js';
import { dummyHash, verifyPassword } from './password.js';
import { FailureThrottle } from './throttle.js';

/**
 * Password checks for every service, with failures counted per client address and per
 * account. Addresses are full (user@domain); a bare local part is qualified with the only
 * local domain when there is exactly one (what users of a one-domain server type).
 */
export class PasswordAuthenticator implements Authenticator {
  private readonly byClient: FailureThrottle;
  private readonly byAccount: FailureThrottle;

  constructor(
    private readonly store: Store,
    private readonly log: Logger,
    private readonly domains: string[],
    limit: number,
    windowSeconds: number,
  ) {
    this.byClient = new FailureThrottle(limit, windowSeconds * 1000);
    // An account under attack from many addresses: a higher bar, so one client cannot lock a user out.
    this.byAccount = new FailureThrottle(limit * 4, windowSeconds * 1000);
  }

  qualify(login: string): string {
    const l = login.trim().toLowerCase();
    if (!l.includes('@') && this.domains.length === 1) return `${l}@${this.domains[0]}`;
    return l;
  }

  isThrottled(clientAddress: string): boolean {
    return this.byClient.throttled(clientAddress);
  }

  async verify(login: string, password: string, service: AuthService, clientAddress: string): Promise<AuthOutcome> {
    const address = this.qualify(login);
    if (this.byClient.throttled(clientAddress) || this.byAccount.throttled(address)) {
      this.log.warn(null, `auth throttled: service=${service}, user=${address}, client=${clientAddress}`);
      return { ok: false, reason: 'throttled' };
    }
    const stored = await this.store.getPasswordHash(address);
    const ok = await verifyPassword(password, stored ?? (await dummyHash()));
    if (ok && stored) {
      this.byClient.succeed(clientAddress);
      this.log.info(null, `auth ok: service=${service}, user=${address}, client=${clientAddress}`);
      return { ok: true, user: address };
    }
    this.byClient.fail(clientAddress);
    this.byAccount.fail(address);
    this.log.notice(null, `auth failed: service=${service}, user=${address}, client=${clientAddress}`);
    return { ok: false, reason: 'bad-credentials' };
  }
}
