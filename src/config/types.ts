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

export interface SmtpConfig extends ServiceConfig {
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
  /** Maximum concurrent SMTP connections, all listeners together. */
  max_connections: number;
}

export interface Pop3Config extends ServiceConfig {
  idle_timeout: number;
  /** Failed logins from one client address within `auth_fail_window` seconds before we slow it down. */
  auth_fail_limit: number;
  auth_fail_window: number;
}

export interface ImapConfig extends ServiceConfig {
  idle_timeout: number;
  max_literal_size: number;
  max_line_length: number;
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
}

export interface StorageConfig {
  /** Refuse new mail with a 4xx when the data_dir file system has less than this many bytes free. */
  min_free_bytes: number;
}

export interface Config {
  /** The file the config came from (for messages); null for built-in defaults. */
  file: string | null;
  hostname: string;
  data_dir: string;
  domains: string[];
  admins: string[];
  smtp: SmtpConfig;
  submission: ServiceConfig;
  imap: ImapConfig;
  pop3: Pop3Config;
  tls: TlsConfig;
  log: LogConfig;
  maps: MapsConfig;
  dns: DnsConfig;
  auth: AuthConfig;
  storage: StorageConfig;
}
