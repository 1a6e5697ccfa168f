/**
 * Where the challenge-response secrets live is the store's business (src/store/accounts.ts,
 * table sasl_secrets); the authenticator only sees this interface.
 */
export type { SecretStore, SecretLookup } from '../store/accounts.js';
