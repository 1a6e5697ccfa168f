import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DkimDomainConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { DkimKey } from './sign.js';

/**
 * DKIM keys: making them (`correo dkim keygen`), the DNS record to publish (RFC 6376 3.6.1,
 * RFC 8463 4), and loading the configured ones for signing.
 */

export type KeyAlgorithm = 'rsa' | 'ed25519';

export function generateDkimKey(algorithm: KeyAlgorithm): string {
  const pair = algorithm === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: 2048 })
    : generateKeyPairSync('ed25519');
  return pair.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** The TXT record's value: p= is the SubjectPublicKeyInfo for RSA, the raw 32-octet key for Ed25519. */
export function dnsRecordValue(privateKey: KeyObject): string {
  const pub = createPublicKey(privateKey);
  const spki = pub.export({ type: 'spki', format: 'der' });
  if (pub.asymmetricKeyType === 'rsa') return `v=DKIM1; k=rsa; p=${spki.toString('base64')}`;
  if (pub.asymmetricKeyType === 'ed25519') return `v=DKIM1; k=ed25519; p=${spki.subarray(spki.length - 32).toString('base64')}`;
  throw new Error(`unsupported DKIM key type ${pub.asymmetricKeyType}`);
}

/** The record as a zone-file line, its value cut into strings of at most 255 octets (RFC 1035 3.3.14). */
export function zoneLine(domain: string, selector: string, value: string): string {
  const chunks: string[] = [];
  for (let i = 0; i < value.length; i += 250) chunks.push(`"${value.slice(i, i + 250)}"`);
  return `${selector}._domainkey.${domain}. IN TXT ( ${chunks.join(' ')} )`;
}

export function keyFile(dataDir: string, domain: string, selector: string): string {
  return join(dataDir, 'dkim', `${domain}.${selector}.key`);
}

/** Writes a new key (never over an existing one); returns the file name. */
export function writeDkimKey(file: string, algorithm: KeyAlgorithm, owner?: { uid: number; gid: number }): KeyObject {
  if (existsSync(file)) throw new Error(`${file} already exists; not overwriting a key that may be published (choose another --selector)`);
  const made = mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  const pem = generateDkimKey(algorithm);
  writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
  // Made by root for a server that runs as its own user: the running server reads the key
  // when it signs (a root-only key would leave mail unsigned until the next start).
  if (owner) {
    if (made) chownSync(dirname(file), owner.uid, owner.gid);
    chownSync(file, owner.uid, owner.gid);
  }
  return createPrivateKey(pem);
}

/**
 * The signing keys of `[dkim]`, read when first needed and again when their file changes.
 * The signing domain of a message is the From: domain, or its nearest configured parent
 * (RFC 7489 relaxed alignment); then the envelope sender's.
 */
export class DkimKeys {
  private cache = new Map<string, { mtime: number; key: KeyObject }>();
  private warned = new Set<string>();

  constructor(private readonly domains: Record<string, DkimDomainConfig>, private readonly log: Logger) {}

  get enabled(): boolean {
    return Object.keys(this.domains).length > 0;
  }

  /** The configured domain that covers `domain` (itself or a parent), if any. */
  private covering(domain: string): string | null {
    const labels = domain.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length - 1; i++) {
      const d = labels.slice(i).join('.');
      if (this.domains[d]) return d;
    }
    return null;
  }

  keyFor(...candidateDomains: (string | null | undefined)[]): DkimKey | null {
    for (const cand of candidateDomains) {
      if (!cand) continue;
      const d = this.covering(cand);
      if (!d) continue;
      const conf = this.domains[d];
      try {
        const mtime = statSync(conf.key).mtimeMs;
        let c = this.cache.get(d);
        if (!c || c.mtime !== mtime) {
          c = { mtime, key: createPrivateKey(readFileSync(conf.key)) };
          this.cache.set(d, c);
        }
        this.warned.delete(d);
        return { domain: d, selector: conf.selector, privateKey: c.key };
      } catch (e) {
        if (!this.warned.has(d)) this.log.error(null, `dkim: cannot read the key for ${d} (${conf.key}): ${(e as Error).message}; sending unsigned`);
        this.warned.add(d);
        return null;
      }
    }
    return null;
  }
}
