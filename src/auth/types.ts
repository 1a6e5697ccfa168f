/** Authentication as every service sees it; one implementation for SMTP, IMAP, POP3, ManageSieve. */

export type AuthService = 'smtp' | 'submission' | 'imap' | 'pop3' | 'sieve';

export type AuthOutcome =
  | { ok: true; user: string }
  /** `throttled`: the client address or account has failed too often; try later. */
  | { ok: false; reason: 'bad-credentials' | 'throttled' };

export interface Authenticator {
  /** Checks a password; failures are counted per client address and per account. */
  verify(address: string, password: string, service: AuthService, clientAddress: string): Promise<AuthOutcome>;
  /** Whether this client address is currently being slowed down after failures. */
  isThrottled(clientAddress: string): boolean;
}
