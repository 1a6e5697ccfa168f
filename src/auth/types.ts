/** Authentication as every service sees it; one implementation for SMTP, IMAP, POP3, ManageSieve. */
import type { SecretScheme } from './secrets.js';

export type AuthService = 'smtp' | 'submission' | 'imap' | 'pop3' | 'sieve';

export type AuthOutcome =
  | { ok: true; user: string }
  /** `throttled`: the client address or account has failed too often; try later. */
  | { ok: false; reason: 'bad-credentials' | 'throttled' };

/**
 * What a challenge-response mechanism learns about an account before it can check a proof.
 * Unknown accounts (and accounts without a secret of the scheme) get a decoy secret the
 * mechanism uses exactly like a real one, so its answers do not tell them apart (issue 9.8).
 */
export type AccountSecret =
  /** Too many recent failures for this client or this pair: answer a temporary failure at once. */
  | { throttled: true }
  | {
    throttled: false;
    /** The account's address as stored, or null when there is none. */
    user: string | null;
    /** Its stored secret of the scheme, or a decoy. */
    secret: string;
    /** False for a decoy: no proof may succeed against it. */
    genuine: boolean;
  };

export interface Authenticator {
  /** Checks a password; failures are counted per client address and per account. */
  verify(address: string, password: string, service: AuthService, clientAddress: string, mechanism?: string): Promise<AuthOutcome>;
  /** Whether this client address is currently being slowed down after failures. */
  isThrottled(clientAddress: string): boolean;
  /** A login name as an account address (a bare local part gets the only local domain). */
  qualify(login: string): string;
  /** For CRAM-MD5, SCRAM and DIGEST-MD5: the account and its secret of `scheme`. */
  lookup(login: string, scheme: SecretScheme, clientAddress: string): Promise<AccountSecret>;
  /** Ends a challenge-response exchange: counts and logs it like `verify` does. */
  settle(login: string, user: string | null, ok: boolean, service: AuthService, clientAddress: string, mechanism: string): AuthOutcome;
}
