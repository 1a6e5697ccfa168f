/**
 * The configuration as the rest of Correo sees it: every value present, defaults applied,
 * paths absolute. `load.ts` turns a TOML file into this and reports FILE:LINE on mistakes.
 */

/** A listen address as written in the config ("127.0.0.1:25", "[::1]:143"); port 0 = let the OS pick. */
export interface ListenAddress {
  host: string;
  port: number;
  /** As written, for messages. */
  text: string;
}

export interface ServiceConfig {
  /** Plain listeners (STARTTLS/STLS offered on them). */
  listen: ListenAddress[];
  /** Implicit-TLS listeners (465, 993, 995). */
  listen_tls: ListenAddress[];
}

/**
 * The connection layer's limits for one service (src/net/, issue 9 items 6 and 11). Loopback
 * clients are not exempt. Times are seconds; none can be 0 (a 0 would turn a timer off).
 */
export interface ConnectionBudgetConfig {
  /** Connections this service holds at once, all its listeners together. */
  max_connections: number;
  /** Connections one client address holds at once (Postfix: 50 per client). */
  max_connections_per_address: number;
  /** New connections one client address may open per minute. */
  max_connection_rate: number;
}

export interface SmtpConfig extends ServiceConfig, ConnectionBudgetConfig {
  max_message_size: number;
  max_recipients: number;
  /** RFC 5321 4.5.3.1.4: 512 octets for a command line including CRLF; we allow extensions' parameters. */
  max_line_length: number;
  /** Seconds a client may stay silent between commands (RFC 5321 4.5.3.2.7: at least 5 minutes). */
  idle_timeout: number;
  /** Reject/throttle: number of errors (bad commands, unknown users) before we hang up. */
  max_errors: number;
  /** S17: VRFY/EXPN give nothing away unless the admin turns these off. */
  novrfy: boolean;
  noexpn: boolean;
  /** Seconds a command line may take to arrive, first octet to CRLF (total, not idle). */
  command_timeout: number;
  /** Seconds the data block of DATA may take in total (RFC 5321 4.5.3.2: 10 minutes). */
  data_timeout: number;
  /** S18 sendmail's `A` option: offer AUTH on port 25 too (off: AUTH is for submission). */
  auth: boolean;
}

/** S6 the MSA on 587/465 (RFC 6409): AUTH required, sender checks and fix-ups. */
export interface SubmissionConfig extends ServiceConfig, ConnectionBudgetConfig {
  /** Seconds from connect to a successful AUTH; then the connection is closed (timers otherwise as [smtp]). */
  login_timeout: number;
  /**
   * Addresses a user may send as besides their own and the aliases that lead to them:
   * user -> ["other@example.test", "@dept.example.test" (a whole domain)].
   */
  allowed_senders: Record<string, string[]>;
  /** The same in a file ("user@example.test: a@example.test, @dept.example.test"), re-read on change. */
  senders_file: string | null;
  /** S23 always_add_domain: unqualified addresses in the envelope and headers get `qualify_domain`. */
  always_add_domain: boolean;
  /** Default: the first of `domains` (or the host name). */
  qualify_domain: string;
  /** The header block is rewritten in memory; one larger than this is refused (552 5.3.4). */
  max_header_size: number;
}

/** S27 MASQUERADE_AS, masquerade_envelope, EXPOSED_USER, MASQUERADE_DOMAIN. */
export interface MasqueradeConfig {
  /** Sender addresses of our domains are rewritten to this domain; null: no masquerading. */
  as: string | null;
  /** Rewrite the envelope sender too (masquerade_envelope). */
  envelope: boolean;
  /** Local parts left alone (EXPOSED_USER), e.g. root. */
  exposed_users: string[];
  /** Domains that are masqueraded (MASQUERADE_DOMAIN); default: `domains` and the host name. */
  domains: string[];
}

/** S31, S24: the local `sendmail` command and what it may do. */
export interface SendmailConfig {
  /** S24 use_ct_file: login names that may set any envelope sender with -f (the server's own user always may). */
  trusted_users: string[];
  /** Where `sendmail` leaves messages for the server (one file each; data_dir/maildrop by default). */
  maildrop: string;
  /** An untrusted user's -f for an address not theirs: "warn" (X-Authentication-Warning, as sendmail) or "refuse". */
  untrusted_sender: 'warn' | 'refuse';
}

/** Timers and the bad-command cap, the same shape for POP3 and IMAP ([smtp] has its own). */
export interface SessionLimitsConfig {
  idle_timeout: number;
  /** Seconds from connect to a successful login; then the connection is closed. */
  login_timeout: number;
  /** Seconds a command line may take to arrive, first octet to CRLF. */
  command_timeout: number;
  /** Bad commands, overlong lines and noise tolerated before we hang up. */
  max_errors: number;
}

export interface Pop3Config extends ServiceConfig, ConnectionBudgetConfig, SessionLimitsConfig {
  /** Failed logins from one client address within `auth_fail_window` seconds before we slow it down. */
  auth_fail_limit: number;
  auth_fail_window: number;
}

export interface ImapConfig extends ServiceConfig, ConnectionBudgetConfig, SessionLimitsConfig {
  max_literal_size: number;
  /** Seconds one literal (an APPEND's message) may take to arrive. */
  literal_timeout: number;
  max_line_length: number;
  /** Before login (issue 9): octets of one literal, of one command, and literals per command. */
  max_literal_before_login: number;
  max_command_before_login: number;
  max_literals_before_login: number;
  /** Sessions one user may have at once; beyond it LOGIN fails with [LIMIT]. */
  max_sessions_per_user: number;
}

export interface TlsConfig {
  cert: string;
  key: string;
  /** True when cert/key were not configured and a self-signed pair lives in data_dir. */
  self_signed: boolean;
}

export interface LogConfig {
  /** 0..99, sendmail's confLOG_LEVEL: higher means more detail (S12). */
  level: number;
  /** Absent: standard output. */
  file: string | null;
}

export interface MapsConfig {
  aliases: string | null;
  /** S20 sendmail's mailertable: per-domain routes for outbound mail. */
  mailertable: string | null;
  /** S25 sendmail's access file (text, no makemap): client, sender and recipient rules. */
  access: string | null;
  /** S21 virtual addresses and domains. */
  virtusertable: string | null;
  /** S26 domains (and client networks) we relay for. */
  relay_domains: string | null;
  /** S23 use_cw_file: more names we take mail for as our own, beside `domains`. */
  local_host_names: string | null;
}

/** S28 one DNS list: a zone and the text of the refusal ("%s" or "$&{client_addr}" = the client address). */
export interface DnsListConfig {
  zone: string;
  message: string;
  /** Only these answers count as listed (e.g. ["127.0.0.2"]); empty = any A record in 127.0.0.0/8. */
  answers: string[];
}

/** S17, S25, S26, S28 and rate limits: what the SMTP front ends refuse and why. */
export interface PolicyConfig {
  /** S17 X-Authentication-Warning when the HELO name is not the client's verified name. */
  authwarnings: boolean;
  /** S17 MAIL needs HELO/EHLO first (always true: Correo's state machine requires it). */
  needmailhelo: boolean;
  /** S17 goaway: novrfy, noexpn, authwarnings and needmailhelo together. */
  goaway: boolean;
  /** S25 the access map applies to recipients too (REJECT/ERROR on To: and untagged keys). */
  blacklist_recipients: boolean;
  /** S25 client and sender verdicts are taken at RCPT, so an authenticated user or a whitelisted recipient wins. */
  delay_checks: boolean;
  /** S26 relay for a domain whose best MX is this host. */
  relay_based_on_mx: boolean;
  dnsbl: DnsListConfig[];
  /** Allow lists (DNSWL): a listed client skips the block lists. */
  dnswl: string[];
  /** Milliseconds to wait for a DNS list; a list that does not answer in time does not block mail. */
  dnsbl_timeout: number;
  /** RFC 5321 6.3: refuse a message with more Received lines than this (a mail loop). */
  max_hops: number;
  /** Rate limits per `rate_window` seconds; 0 = no limit. Exceeding one gives a 4xx. */
  rate_window: number;
  client_connections: number;
  client_messages: number;
  client_recipients: number;
  user_messages: number;
  user_recipients: number;
  /** Greylisting (off by default): first (client /24, sender, recipient) triplets get 451 for `greylist_delay` seconds. */
  greylist: boolean;
  greylist_delay: number;
  /** Seconds a triplet may take to come back before it starts over. */
  greylist_retry_window: number;
  /** Seconds a passed triplet stays known. */
  greylist_expire: number;
}

/** What to do with a message whose DMARC policy asks for it. */
export type DmarcAction = 'none' | 'quarantine' | 'reject';

/** SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC (RFC 8617) on inbound mail. */
export interface AuthChecksConfig {
  /** Run the checks and add Authentication-Results (RFC 8601) to mail arriving on port 25. */
  enabled: boolean;
  /** Honour a sender domain's p=reject with 550 5.7.1 at the end of DATA. */
  dmarc_reject: boolean;
  /** Honour p=quarantine by filing the message in the recipient's Junk folder. */
  dmarc_quarantine: boolean;
  /** Refuse mail whose SPF result is "fail" (-all) even without DMARC. */
  spf_reject: boolean;
  /** Per sender domain: what to do instead of what its DMARC record asks. */
  domains: Record<string, DmarcAction>;
  /** Milliseconds for all of a message's checks; past it they are "temperror" and the mail passes. */
  timeout: number;
}

/** S19, S29: deliveries to programs (|command in aliases and forwards), smrsh-like. */
export interface DeliveryConfig {
  /** The only directory programs are run from (smrsh's sm.bin); null: no program deliveries. */
  program_dir: string | null;
  /** The unprivileged user programs run as. */
  program_user: string;
  /** Seconds a program may run; past it, it is killed and the delivery bounces. */
  program_timeout: number;
  /**
   * The only directories `/file` targets of the aliases file (and of root's :include: files)
   * may write into; empty: no such file deliveries. A user's :include: file writes as that user.
   */
  file_dirs: string[];
  /** Users may keep a forward list (`correo forward`); where those lists live. */
  forward_dir: string;
  /**
   * S29 FEATURE(local_procmail): every local delivery goes to this command (run like a
   * |program target) instead of the store; $u = local part, $d = domain, $a = address.
   */
  local_mailer: string | null;
  /**
   * Plus addressing: `user+detail@domain` reaches `user` when no alias, virtusertable entry or
   * user has the full address (sendmail, Postfix, Dovecot, Cyrus). "" turns it off.
   */
  recipient_delimiter: string;
}

/** RFC 2033 LMTP: another MTA delivering into Correo's store. */
export interface LmtpConfig {
  listen: ListenAddress[];
  /** A Unix socket path, as sendmail's cyrusv2 mailer uses. */
  socket: string | null;
  /** LMTP clients are trusted local MTAs: one budget, no per-address or rate limit. Timers as [smtp]. */
  max_connections: number;
}

/** RFC 5804 ManageSieve (port 4190): users upload their Sieve scripts. STARTTLS on every listener. */
export interface ManageSieveConfig extends ConnectionBudgetConfig, SessionLimitsConfig {
  listen: ListenAddress[];
}

/** Sieve at delivery (RFC 5228) and the scripts users may keep. */
export interface SieveConfig {
  /** Octets of one script (RFC 5804 QUOTA/MAXSIZE). */
  max_script_size: number;
  /** Scripts one user may keep (RFC 5804 QUOTA/MAXSCRIPTS). */
  max_scripts: number;
  /** Actions one run may take; past it the message is kept and the log says why. */
  max_actions: number;
  /** Redirects one run may make (RFC 5228 4.2 lets a server limit them). */
  max_redirects: number;
  /** Milliseconds of one run (the interpreter's own clock; a run past it keeps the message). */
  max_run_time: number;
  /** A script run for every local recipient before the user's (Dovecot's sieve_before); null: none. */
  before: string | null;
  /** ... and after it (sieve_after), unless the user's script stopped; null: none. */
  after: string | null;
  /** Vacation replies to one sender are at least this many seconds apart (RFC 5230 4.1, RFC 6131). */
  vacation_min_period: number;
  /** ... and at most this many. */
  vacation_max_period: number;
}

/** What all services together may hold (src/net/fd-limit.ts). */
export interface LimitsConfig {
  /** Client connections of all services together; null: the open-file limit less `reserved_fds`. */
  max_connections: number | null;
  /** Descriptors kept for the queue, the database, map files and outbound connections. */
  reserved_fds: number;
}

/** S4, S14, S15: delivery of mail to other servers. Times are seconds. */
export interface OutboundConfig {
  /** S14 SMART_HOST: "[host]:port", "[host]" (no MX lookup), "host" or "host:port" (MX lookup of host). */
  smart_host: string | null;
  /** File whose first line is "user:password" for AUTH to the smart host. */
  smart_host_auth: string | null;
  /** STARTTLS to the smart host: "none", "opportunistic" (unverified), "required" (verified). */
  smart_host_tls: 'none' | 'opportunistic' | 'required';
  /** With smart_host_tls = "required": check the certificate against the system CAs and the host name. */
  smart_host_tls_verify: boolean;
  /** Opportunistic STARTTLS to MX hosts (certificates not verified, RFC 7435). */
  starttls: boolean;
  /** S15 confTO_CONNECT. */
  connect_timeout: number;
  /** Wait for a reply to the greeting and each command (RFC 5321 4.5.3.2: 5 minutes). */
  command_timeout: number;
  /** Wait for the reply after the final "." (RFC 5321 4.5.3.2.6: 10 minutes). */
  data_timeout: number;
  retry_initial: number;
  retry_max: number;
  /** A "delayed" DSN once a message has waited this long. */
  delay_warning: number;
  /** Bounce what is still undelivered after this long. */
  give_up: number;
  max_per_destination: number;
  max_total: number;
  /** Port remote MX hosts are contacted on (25; tests use another). */
  port: number;
  /** confTRY_NULL_MX_LIST: when we are the best MX of a domain, connect to its address records. */
  try_null_mx_list: boolean;
}

/** RFC 6376 signing key of one domain. */
export interface DkimDomainConfig {
  selector: string;
  /** PEM private key (RSA or Ed25519); default data_dir/dkim/DOMAIN.SELECTOR.key. */
  key: string;
}

export interface DnsConfig {
  /** "host:port" strings; empty = the system's resolver. */
  servers: string[];
  /** Milliseconds per query attempt. */
  timeout: number;
}

export interface AuthConfig {
  /** S18 `A p`: refuse plaintext mechanisms (PLAIN, LOGIN, USER/PASS) on a connection without TLS. */
  plaintext_without_tls: boolean;
  /** SASL mechanisms offered (src/auth/sasl.ts); CRAM-MD5, SCRAM-SHA-1, DIGEST-MD5 only if listed. */
  mechanisms: string[];
  /** SCRAM iteration count for secrets made from now on (RFC 7677 4: at least 4096). */
  scram_iterations: number;
  /** Seconds a verified password login is remembered (src/auth/login-cache.ts); 0 turns the cache off. */
  cache_ttl: number;
}

export interface StorageConfig {
  /** Refuse new mail with a 4xx when the data_dir file system has less than this many bytes free. */
  min_free_bytes: number;
}

export interface StoreConfig {
  /** "sqlite" (embedded, one node) or "postgresql" (several nodes on one database). */
  backend: 'sqlite' | 'postgresql';
  /** postgres://USER@HOST:PORT/DATABASE (no password in it). */
  url: string | null;
  /** First line: the database password; else PGPASSWORD / CORREO_PG_PASSWORD, else none. */
  password_file: string | null;
  /** This node's name, unique among the running nodes (leases and orphan sweeps name it); default host:pid. */
  node_id: string | null;
  /** Bodies as files in this directory, mounted by every node; default: in the database. */
  blob_dir: string | null;
  /** Connections of this node's pool. */
  pool_size: number;
  /** Seconds a claimed queue recipient stays with its node without a renewal (a dead node's come back after it). */
  lease: number;
}

export interface Config {
  /** The file the config came from (for messages); null for built-in defaults. */
  file: string | null;
  hostname: string;
  data_dir: string;
  domains: string[];
  admins: string[];
  smtp: SmtpConfig;
  submission: SubmissionConfig;
  masquerade: MasqueradeConfig;
  sendmail: SendmailConfig;
  imap: ImapConfig;
  pop3: Pop3Config;
  tls: TlsConfig;
  log: LogConfig;
  maps: MapsConfig;
  dns: DnsConfig;
  auth: AuthConfig;
  storage: StorageConfig;
  store: StoreConfig;
  outbound: OutboundConfig;
  /** Signing domain -> selector and key. */
  dkim: Record<string, DkimDomainConfig>;
  policy: PolicyConfig;
  auth_checks: AuthChecksConfig;
  delivery: DeliveryConfig;
  lmtp: LmtpConfig;
  managesieve: ManageSieveConfig;
  sieve: SieveConfig;
  limits: LimitsConfig;
  server: ServerConfig;
}

/** The process itself (issue 9 item 5). */
export interface ServerConfig {
  /**
   * Started as root, the server binds its ports and then runs as this user; data_dir belongs
   * to it. Not root. Ignored when not started as root (the process already is a plain user).
   */
  user: string;
}
