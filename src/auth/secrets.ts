import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { hmacMd5Pads, type Md5State } from './md5.js';
import { saslprep } from './saslprep.js';

/**
 * Server-side secrets for the challenge-response mechanisms, derived from the password when
 * it is set (`correo user add/passwd`) so that the password is never kept (S33):
 *
 *   SCRAM-SHA-256, SCRAM-SHA-1  RFC 5802 3: salt, iteration count, StoredKey, ServerKey, in
 *                               RFC 5803's text form "SCRAM-SHA-256$ITER:SALT$STOREDKEY:SERVERKEY".
 *                               A stolen secret does not let anyone log in (StoredKey = H(ClientKey)).
 *   CRAM-MD5                    the HMAC-MD5 inner and outer pad states, Dovecot's CRAM-MD5
 *                               scheme: 32 octets in hex. Password-equivalent for CRAM-MD5 and
 *                               open to a fast offline guess, hence off unless configured.
 *   DIGEST-MD5                  H(address ":" realm ":" password) (RFC 2831 2.1.2.1), with the
 *                               realm it was made for: "REALM$HEX". Also password-equivalent.
 */

export type SecretScheme = 'SCRAM-SHA-256' | 'SCRAM-SHA-1' | 'CRAM-MD5' | 'DIGEST-MD5';

export const SECRET_SCHEMES: readonly SecretScheme[] = ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'CRAM-MD5', 'DIGEST-MD5'];

export interface ScramSecret {
  hash: 'sha256' | 'sha1';
  iterations: number;
  salt: Buffer;
  storedKey: Buffer;
  serverKey: Buffer;
}

export interface DeriveOptions {
  /** RFC 7677 4: at least 4096. */
  scramIterations: number;
  /** The DIGEST-MD5 realm (the server's host name). */
  realm: string;
}

export const scramHash = (scheme: 'SCRAM-SHA-256' | 'SCRAM-SHA-1') => (scheme === 'SCRAM-SHA-256' ? 'sha256' : 'sha1');

/** RFC 5802 3: SaltedPassword := Hi(Normalize(password), salt, i); the keys from it. */
export function scramKeys(hash: 'sha256' | 'sha1', password: string, salt: Buffer, iterations: number): { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer } {
  const len = hash === 'sha256' ? 32 : 20;
  const salted = pbkdf2Sync(Buffer.from(saslprep(password), 'utf8'), salt, iterations, len, hash);
  const clientKey = createHmac(hash, salted).update('Client Key').digest();
  return {
    clientKey,
    storedKey: createHash(hash).update(clientKey).digest(),
    serverKey: createHmac(hash, salted).update('Server Key').digest(),
  };
}

export function digestHa1(address: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${address}:${realm}:${saslprep(password)}`, 'utf8').digest();
}

/** The secret of one scheme for a password, as stored. */
export function deriveSecret(scheme: SecretScheme, address: string, password: string, o: DeriveOptions): string {
  switch (scheme) {
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1': {
      const hash = scramHash(scheme);
      const salt = randomBytes(16);
      const k = scramKeys(hash, password, salt, o.scramIterations);
      return `${scheme}$${o.scramIterations}:${salt.toString('base64')}$${k.storedKey.toString('base64')}:${k.serverKey.toString('base64')}`;
    }
    case 'CRAM-MD5': {
      const { inner, outer } = hmacMd5Pads(Buffer.from(password, 'utf8'));
      const out = Buffer.alloc(32);
      [...inner, ...outer].forEach((w, i) => out.writeUInt32LE(w, i * 4));
      return out.toString('hex');
    }
    case 'DIGEST-MD5':
      return `${o.realm}$${digestHa1(address, o.realm, password).toString('hex')}`;
  }
}

export function parseScram(secret: string): ScramSecret | null {
  const m = /^(SCRAM-SHA-256|SCRAM-SHA-1)\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$/.exec(secret);
  if (!m) return null;
  return {
    hash: scramHash(m[1] as 'SCRAM-SHA-256'),
    iterations: Number(m[2]),
    salt: Buffer.from(m[3], 'base64'),
    storedKey: Buffer.from(m[4], 'base64'),
    serverKey: Buffer.from(m[5], 'base64'),
  };
}

export function parseCramPads(secret: string): { inner: Md5State; outer: Md5State } | null {
  if (!/^[0-9a-f]{64}$/.test(secret)) return null;
  const b = Buffer.from(secret, 'hex');
  const w = (i: number) => b.readUInt32LE(i * 4);
  return { inner: [w(0), w(1), w(2), w(3)], outer: [w(4), w(5), w(6), w(7)] };
}

export function parseDigest(secret: string): { realm: string; ha1: Buffer } | null {
  const m = /^([^$]*)\$([0-9a-f]{32})$/.exec(secret);
  return m ? { realm: m[1], ha1: Buffer.from(m[2], 'hex') } : null;
}
