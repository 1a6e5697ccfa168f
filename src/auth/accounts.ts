import type { Config } from '../config/types.js';
import type { SecretStore } from '../store/accounts.js';
import type { Store } from '../store/types.js';
import type { Logger } from '../log/logger.js';
import { PasswordAuthenticator } from './authenticator.js';
import { hashPassword } from './password.js';
import { decoyKeyFrom } from './decoy.js';
import { deriveSecret, SECRET_SCHEMES, type DeriveOptions, type SecretScheme } from './secrets.js';

/**
 * How passwords and their SASL secrets are set and checked, from the config: the one place
 * `correo serve` and `correo user` agree on which secrets exist.
 */

/** Secret schemes the enabled mechanisms need (PLAIN and LOGIN need none beyond the scrypt hash). */
export function enabledSchemes(cfg: Config): SecretScheme[] {
  return SECRET_SCHEMES.filter((s) => cfg.auth.mechanisms.includes(s));
}

export function deriveOptions(cfg: Config): DeriveOptions {
  return { scramIterations: cfg.auth.scram_iterations, realm: cfg.hostname };
}

export function makeAuthenticator(cfg: Config, store: Store, secrets: SecretStore, log: Logger, limit = cfg.pop3.auth_fail_limit, windowSeconds = cfg.pop3.auth_fail_window): PasswordAuthenticator {
  return new PasswordAuthenticator({
    store, log, domains: cfg.domains, limit, windowSeconds, cacheTtlSeconds: cfg.auth.cache_ttl,
    secrets, schemes: enabledSchemes(cfg), derive: deriveOptions(cfg), decoyKey: decoyKeyFrom(cfg.data_dir),
  });
}

/**
 * Sets a password (creating the user when asked): the scrypt hash, then a secret for every
 * enabled challenge-response mechanism. Secrets of mechanisms not enabled are not made: the
 * weaker ones (CRAM-MD5, DIGEST-MD5) exist only where the admin chose them.
 */
export async function setPassword(cfg: Config, store: Store, secretStore: SecretStore, address: string, password: string, create: boolean): Promise<void> {
  const hash = await hashPassword(password);
  if (create) await store.createUser(address, hash);
  else if (!(await store.setPasswordHash(address, hash))) throw new Error(`no user ${address}`);
  const secrets: Partial<Record<SecretScheme, string>> = {};
  const o = deriveOptions(cfg);
  for (const s of enabledSchemes(cfg)) secrets[s] = deriveSecret(s, address, password, o);
  await secretStore.replace(address, hash, secrets);
}
