import { createHmac, randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DeriveOptions, SecretScheme } from './secrets.js';

/**
 * Secrets for accounts that do not exist (or have no secret of the scheme yet), so that a
 * challenge-response exchange looks the same either way (issue 9.8). A SCRAM server-first
 * message shows the salt and the iteration count: the decoy has the configured count and a
 * salt that is an HMAC of the name under a key kept in data_dir, so asking twice, or after a
 * restart, shows the same salt, as for a real account. Its keys are random: no proof matches.
 */

const KEY_FILE = 'auth-decoy.key';
const KEY_LENGTH = 32;

/**
 * The key, made on first use (0600, never rewritten). Read lazily: `correo user` and a server
 * that never sees a challenge-response exchange for an unknown name do not need it.
 */
export function decoyKeyFrom(dataDir: string): () => Buffer {
  let key: Buffer | null = null;
  return () => (key ??= loadOrCreate(join(dataDir, KEY_FILE)));
}

function loadOrCreate(file: string): Buffer {
  try {
    const fd = openSync(file, 'wx', 0o600);
    try {
      const k = randomBytes(KEY_LENGTH);
      writeSync(fd, k);
      return k;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new Error(`${file}: cannot create the SASL decoy key: ${(e as Error).message}`);
  }
  const k = readFileSync(file);
  if (k.length !== KEY_LENGTH) throw new Error(`${file}: ${k.length} octets, expected ${KEY_LENGTH} (delete it to make a new one)`);
  return k;
}

/** A secret of `scheme` in the stored text form (secrets.ts) that no response can match. */
export function decoySecret(scheme: SecretScheme, account: string, key: Buffer, o: DeriveOptions): string {
  switch (scheme) {
    case 'SCRAM-SHA-256':
    case 'SCRAM-SHA-1': {
      // 16 octets like deriveSecret's random salt; per scheme, as a real account's salts differ.
      const salt = createHmac('sha256', key).update(`${scheme}\0${account}`).digest().subarray(0, 16);
      const len = scheme === 'SCRAM-SHA-256' ? 32 : 20;
      return `${scheme}$${o.scramIterations}:${salt.toString('base64')}$${randomBytes(len).toString('base64')}:${randomBytes(len).toString('base64')}`;
    }
    case 'CRAM-MD5':
      return randomBytes(32).toString('hex');
    case 'DIGEST-MD5':
      return `${o.realm}$${randomBytes(16).toString('hex')}`;
  }
}
