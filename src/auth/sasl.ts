import type { Authenticator, AuthOutcome, AuthService } from './types.js';
import { Scram } from './sasl-scram.js';
import { CramMd5 } from './sasl-cram.js';
import { DigestMd5 } from './sasl-digest.js';

/**
 * Server side of SASL (RFC 4422), shared by SMTP AUTH (RFC 4954), IMAP AUTHENTICATE
 * (RFC 9051 6.2.2), POP3 AUTH (RFC 5034) and ManageSieve. Each protocol frames the
 * exchange its own way (334 / "+ " / ...), base64 included; this module sees decoded bytes.
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN, CRAM-MD5 (RFC 2195), SCRAM-SHA-256 (RFC 7677),
 * SCRAM-SHA-1 (RFC 5802), DIGEST-MD5 (RFC 2831). Which are offered is the admin's choice
 * (`[auth] mechanisms`); PLAIN and LOGIN only under TLS unless allowed (S18 `A p`).
 */
export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | { kind: 'done'; outcome: AuthOutcome }
  /** The client sent something the mechanism cannot parse: a protocol error, not a failed login. */
  | { kind: 'malformed'; message: string };

export interface SaslExchange {
  readonly mechanism: string;
  /** `initial`: the initial response (RFC 4422 3.3), or null when the client sent none. */
  start(initial: Buffer | null): Promise<SaslStep>;
  next(response: Buffer): Promise<SaslStep>;
}

/** Mechanisms that send the password as it is: offered only under TLS unless the admin allows (S18 `A p`). */
export const PLAINTEXT_MECHANISMS = ['PLAIN', 'LOGIN'];

/** Every mechanism this module implements, strongest first (the order clients see). */
export const ALL_MECHANISMS = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'DIGEST-MD5', 'CRAM-MD5', 'PLAIN', 'LOGIN'] as const;

/** What a fresh config enables: no mechanism that needs a weaker stored secret (docs/DECISIONS.md). */
export const DEFAULT_MECHANISMS = ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'];

/**
 * The mechanisms to offer on a connection: the enabled ones, minus PLAIN and LOGIN on a
 * connection without TLS unless `plaintextWithoutTls`. `enabled` defaults to PLAIN and LOGIN,
 * what every service offered before the challenge-response mechanisms existed.
 */
export function offeredMechanisms(secure: boolean, plaintextWithoutTls: boolean, enabled: readonly string[] = PLAINTEXT_MECHANISMS): string[] {
  const plaintextOk = secure || plaintextWithoutTls;
  return ALL_MECHANISMS.filter((m) => enabled.includes(m) && (plaintextOk || !PLAINTEXT_MECHANISMS.includes(m)));
}

/**
 * A client's response line as the protocols send it: base64, "=" for an empty response
 * (RFC 4954 4, RFC 9051 6.2.2), "*" to cancel.
 */
export function decodeResponse(line: string): Buffer | 'cancel' | 'invalid' {
  const l = line.trim();
  if (l === '*') return 'cancel';
  if (l === '=' || l === '') return Buffer.alloc(0);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(l) || l.length % 4 !== 0) return 'invalid';
  return Buffer.from(l, 'base64');
}

export interface SaslEnv {
  auth: Authenticator;
  service: AuthService;
  clientAddress: string;
  /** This server's name: CRAM-MD5's challenge and DIGEST-MD5's realm. */
  hostname?: string;
}

/** RFC 4616: [authzid] NUL authcid NUL passwd. An authzid other than the authcid is refused. */
class Plain implements SaslExchange {
  readonly mechanism = 'PLAIN';
  constructor(private readonly env: SaslEnv) {}

  async start(initial: Buffer | null): Promise<SaslStep> {
    return initial === null ? { kind: 'challenge', data: Buffer.alloc(0) } : this.next(initial);
  }

  async next(response: Buffer): Promise<SaslStep> {
    const parts = response.toString('utf8').split('\0');
    if (parts.length !== 3 || !parts[1]) return { kind: 'malformed', message: 'PLAIN response is not authzid NUL authcid NUL password' };
    const [authzid, authcid, password] = parts;
    const outcome = await this.env.auth.verify(authcid, password, this.env.service, this.env.clientAddress, this.mechanism);
    if (outcome.ok && authzid && this.env.auth.qualify(authzid) !== outcome.user && authzid.toLowerCase() !== authcid.toLowerCase()) {
      return { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } };
    }
    return { kind: 'done', outcome };
  }
}

/** The LOGIN mechanism (draft-murchison-sasl-login): "Username:" then "Password:". */
class Login implements SaslExchange {
  readonly mechanism = 'LOGIN';
  private user: string | null = null;
  constructor(private readonly env: SaslEnv) {}

  async start(initial: Buffer | null): Promise<SaslStep> {
    if (initial !== null && initial.length) return this.next(initial);
    return { kind: 'challenge', data: Buffer.from('Username:') };
  }

  async next(response: Buffer): Promise<SaslStep> {
    if (this.user === null) {
      this.user = response.toString('utf8');
      if (!this.user) return { kind: 'malformed', message: 'empty user name' };
      return { kind: 'challenge', data: Buffer.from('Password:') };
    }
    return { kind: 'done', outcome: await this.env.auth.verify(this.user, response.toString('utf8'), this.env.service, this.env.clientAddress, this.mechanism) };
  }
}

/** null when the mechanism is unknown or not offered on this connection. */
export function startExchange(mechanism: string, offered: string[], env: SaslEnv): SaslExchange | null {
  const m = mechanism.toUpperCase();
  if (!offered.includes(m)) return null;
  switch (m) {
    case 'PLAIN': return new Plain(env);
    case 'LOGIN': return new Login(env);
    case 'CRAM-MD5': return new CramMd5(env);
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1': return new Scram(m, env);
    case 'DIGEST-MD5': return new DigestMd5(env);
    default: return null;
  }
}
