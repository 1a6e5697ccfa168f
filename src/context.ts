import type { SecureContext } from 'node:tls';
import type { Config } from './config/types.js';
import type { Store } from './store/types.js';
import type { Authenticator } from './auth/types.js';
import type { Intake } from './queue/types.js';
import type { Logger } from './log/logger.js';
import type { BlobStore } from './store/blobs.js';
import type { SearchIndex } from './store/search.js';
import type { Locks } from './store/locks.js';
import type { SieveStore } from './store/sieve.js';
import type { ChangeNotifier } from './store/notify.js';
import type { Recipients } from './delivery/recipients.js';
import type { Resolver } from './dns/resolver.js';
import type { Policy } from './policy/engine.js';
import type { SenderRules } from './smtp/senders.js';

/** Everything a protocol service needs, built once by `server.ts` and handed to each listener. */
export interface Context {
  config: Config;
  log: Logger;
  store: Store;
  /** The full-text index (IMAP SEARCH reads only the candidates it gives). */
  search: SearchIndex;
  blobs: BlobStore;
  auth: Authenticator;
  intake: Intake;
  /** Recipient checks at RCPT time (local user, alias, relay refused). */
  recipients: Recipients;
  dns: Resolver;
  /** S17, S25, S26, S28, sender authentication, rate limits: a PolicySession per SMTP connection. */
  policy: Policy;
  /** The current TLS context (reloaded when the certificate files change). */
  tls(): SecureContext;
  /** Submission and local sendmail: which sender addresses an authenticated user owns. */
  senders?: SenderRules;
  /** "Mailbox N changed" (new mail from the queue, other sessions' changes): IMAP IDLE and NOOP. */
  changes: ChangeNotifier;
  /** The POP3 maildrop lock. */
  locks: Locks;
  /** Users' Sieve scripts (ManageSieve). */
  sieve: SieveStore;
}
