import { existsSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { hostname as osHostname } from 'node:os';

/** The commented starter file `correo init` writes: every setting with its default. */
export function starterConfig(hostname: string, domain: string, portOffset = 0): string {
  const p = (n: number) => n + portOffset;
  return `# Correo configuration (TOML). Every setting below shows its default unless noted.
# After a change, restart "correo serve"; map files ([maps]) are re-read on change.

hostname = "${hostname}"          # greeting / HELO name; must match DNS and /etc/hosts (S30)
data_dir = "./data"                   # database, message files, self-signed certificate
domains  = ["${domain}"]              # local-host-names: every domain we accept as our own (S23)
admins   = ["admin@${domain}"]        # mailbox administrators; they also receive mail for root/postmaster

[server]
user = "correo"                       # started as root: binds the ports, then runs as this user
                                      # ("correo init" as root creates it; see docs/SECURITY.md)

[smtp]                                # the MTA: mail from other servers
listen = ["127.0.0.1:${p(25)}"]             # loopback only until you open it (S13); [] disables
max_message_size = 26214400           # octets (SIZE)
max_recipients = 100                  # per message; more get 452 4.5.3
idle_timeout = 300                    # seconds of silence before 421
command_timeout = 60                  # seconds one command line may take to arrive, in total
data_timeout = 600                    # seconds the DATA block may take in total (RFC 5321 4.5.3.2)
max_errors = 10                       # bad commands before 421 and hang-up
max_connections = 1000                # port 25's own budget (submission has its own)
max_connections_per_address = 50      # open at once from one client address (Postfix: 50)
max_connection_rate = 120             # new connections per client address and minute
novrfy = true                         # VRFY gives nothing away (S17)
noexpn = true                         # EXPN gives nothing away (S17)
#auth = true                          # S18 "A": offer AUTH on port 25 too (submission always has it)

[submission]                          # mail from your users' clients (AUTH required)
listen = ["127.0.0.1:${p(587)}"]            # STARTTLS
listen_tls = ["127.0.0.1:${p(465)}"]        # implicit TLS
login_timeout = 120                   # seconds from connect to a successful AUTH; then 421
max_connections = 500                 # submission's own budget, apart from port 25's
max_connections_per_address = 20
max_connection_rate = 600             # webmail submits for many users from one address
always_add_domain = true              # S23: "user" becomes user@ the first domain
#senders_file = "/etc/correo/senders" # "user@domain: other@domain, @dept.domain" (who may send as what)
#[submission.allowed_senders]         # the same in this file
#"ana@example.org" = ["boss@example.org", "@sales.example.org"]

#[masquerade]                         # S27: sender addresses of our domains shown as one domain
#as = "example.org"                   # MASQUERADE_AS
#envelope = true                      # masquerade_envelope
#exposed_users = ["root"]             # EXPOSED_USER

[delivery]                            # |program and /file targets (S16, S19)
#program_dir = "/etc/correo/smrsh"   # the only programs that may run (smrsh); unset: none
program_user = "nobody"               # programs of the aliases file and forward lists run as this user
#file_dirs = ["/var/mail/archive"]    # /file targets of the aliases file only inside these; unset: none
recipient_delimiter = "+"             # user+detail@ reaches user when nothing has the full address; "" = off

[sendmail]                            # the local sendmail/mailq commands (S31)
trusted_users = ["root"]              # S24: may set any sender with -f (the server's own user too)
untrusted_sender = "warn"             # others: "warn" (X-Authentication-Warning) or "refuse"

[imap]
listen = ["127.0.0.1:${p(143)}"]            # STARTTLS
listen_tls = ["127.0.0.1:${p(993)}"]
idle_timeout = 1860                   # seconds; RFC 9051 5.4: at least 30 minutes
max_literal_size = 52428800           # APPENDLIMIT, octets
max_literal_before_login = 8192       # before login: octets of one literal ...
max_command_before_login = 16384      # ... of one command (and of one line) ...
max_literals_before_login = 8         # ... and literals per command
max_sessions_per_user = 1000          # beyond it LOGIN answers NO [LIMIT]
login_timeout = 120                   # seconds from connect to a successful login; then BYE
command_timeout = 60                  # seconds one command line may take to arrive, in total
literal_timeout = 600                 # seconds one literal (an APPEND's message) may take
max_errors = 20                       # BAD answers before BYE
max_connections = 5000
max_connections_per_address = 50      # beyond it the greeting is BYE
max_connection_rate = 600             # new connections per client address and minute (webmail reconnects often)

[pop3]
listen = ["127.0.0.1:${p(110)}"]            # STLS
listen_tls = ["127.0.0.1:${p(995)}"]
auth_fail_limit = 5                   # failed logins per client address within the window ...
auth_fail_window = 300                # ... (seconds) before it is throttled
idle_timeout = 600
login_timeout = 120                   # seconds from connect to a successful login
command_timeout = 60
max_errors = 10
max_connections = 1000
max_connections_per_address = 20      # beyond it -ERR [SYS/TEMP]
max_connection_rate = 600

[managesieve]                         # RFC 5804: users upload Sieve filters (sieve-connect, sieveshell, Roundcube)
listen = ["127.0.0.1:${p(4190)}"]           # STARTTLS offered; no plaintext password before it
login_timeout = 120
max_connections = 500
max_connections_per_address = 20

[sieve]                               # filters at delivery (RFC 5228)
max_script_size = 262144              # octets of one script (QUOTA/MAXSIZE)
max_scripts = 20                      # scripts per user (QUOTA/MAXSCRIPTS)
max_actions = 32                      # actions one run may take; past it the message is kept
max_redirects = 4                     # redirects one run may make
#before = "/etc/correo/sieve/before.sieve"  # run for every user before their own script (sieve_before)
#after = "/etc/correo/sieve/after.sieve"    # ... and after it (sieve_after)

[limits]                              # all services together (loopback clients are not exempt)
#max_connections = 19000              # default: the open-file limit (ulimit -n) less reserved_fds
reserved_fds = 256                    # descriptors kept for the queue, the database and outbound mail

[auth]
plaintext_without_tls = false         # S18 "A p": no plaintext password before TLS
mechanisms = ["SCRAM-SHA-256", "PLAIN", "LOGIN"]  # also CRAM-MD5, SCRAM-SHA-1, DIGEST-MD5 (weaker; see docs/DECISIONS.md)
cache_ttl = 60                        # seconds a verified login skips scrypt (0: off); a password change ends it at once

#[tls]                                # absent: a self-signed pair is made in data_dir/tls
#cert = "/etc/correo/cert.pem"
#key  = "/etc/correo/key.pem"

[log]
level = 9                             # 0..99, higher = more detail (S12)
#file = "/var/log/correo/mail.log"    # absent: standard output

[maps]
#aliases = "/etc/correo/aliases"      # /etc/aliases format (S16); re-read on change
#mailertable = "/etc/correo/mailertable"  # per-domain routes (S20), re-read on change; lines like
#   remote.example   smtp:[relay.example]:2525   # that host (no MX lookup), that port
#   .remote.example  smtp:mx.example             # every subdomain; MX lookup of mx.example
#   intra.example    local:someone               # into a local user's mailbox
#   old.example      error:5.1.2:domain retired  # refuse (4.x.x codes defer instead)

[outbound]                            # mail to other servers (S4, S14, S15); times in seconds
#smart_host = "[relay.provider.example]:587"  # S14: everything through one relay; "[h]" = no MX lookup
#smart_host_auth = "/etc/correo/smarthost.auth"  # first line "user:password" (AUTH PLAIN/LOGIN)
smart_host_tls = "opportunistic"      # none | opportunistic | required (required verifies the certificate)
smart_host_tls_verify = true          # with "required": false accepts any certificate
starttls = true                       # opportunistic STARTTLS to MX hosts (unverified, RFC 7435)
connect_timeout = 60                  # confTO_CONNECT (S15)
command_timeout = 300                 # greeting and each command (RFC 5321 4.5.3.2)
data_timeout = 600                    # reply after the final "."
retry_initial = 300                   # first retry after a 4xx; doubles each time ...
retry_max = 14400                     # ... up to this
delay_warning = 14400                 # tell the sender once (DSN "delayed") after this long
give_up = 432000                      # bounce after 5 days
max_per_destination = 10              # connections at once to one domain / relay
max_total = 100                       # outbound connections at once
port = 25                             # port of remote MX hosts
try_null_mx_list = true               # confTRY_NULL_MX_LIST: when we are a domain's best MX, use its A/AAAA

# DKIM signing (RFC 6376) of mail whose From: is in a listed domain. Make a key with
# "correo dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]" and publish the TXT it prints.
#[dkim."${domain}"]
#selector = "correo"
#key = "/etc/correo/dkim/${domain}.correo.key"   # default: data_dir/dkim/DOMAIN.SELECTOR.key

[dns]
#servers = ["127.0.0.1:53"]           # absent: the system's resolver

[storage]
min_free_bytes = 67108864             # below this much free disk, new mail gets 452 4.3.1
`;
}

/**
 * `portOffset` 10000 puts every service on an unprivileged port (10025, 10143, ...): what
 * `correo serve --init` does for a user who is not root, so the first start just works.
 */
export function writeStarterConfig(file: string, opts: { hostname?: string; domain?: string; portOffset?: number }): string {
  const path = resolve(file);
  if (existsSync(path)) throw new Error(`${path} already exists; not overwriting it`);
  const host = (opts.hostname ?? osHostname()).toLowerCase();
  const domain = (opts.domain ?? (host.includes('.') ? host.split('.').slice(1).join('.') : 'localdomain')).toLowerCase();
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, starterConfig(host.includes('.') ? host : `${host}.${domain}`, domain, opts.portOffset ?? 0));
  return path;
}
