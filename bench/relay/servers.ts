/**
 * The two servers of the relay benchmark, each configured to take authenticated submissions
 * over TLS and relay mail for remote.test to the benchmark's sink on 127.0.0.2, without the
 * machine's resolver: Correo through a dnsmasq on loopback (MX remote.test -> mx.remote.test ->
 * 127.0.0.2, `[outbound] port` = the sink's port), Postfix through a transport_maps entry
 * `remote.test smtp:[127.0.0.2]:PORT` with disable_dns_lookups.
 */
import { execFile, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { launchCorreo } from '../lib/correo.js';
import { gid, startPostfixInstance, uid } from '../lib/postfix.js';
import type { TlsMode } from './load.js';

const run = promisify(execFile);

export const USER = 'user@example.test';
export const PASSWORD = 'bench-password';
export const REMOTE = 'remote.test';

export interface RelayServer {
  name: string;
  host: string;
  /** The submission port for the chosen TLS mode (587-like STARTTLS or 465-like implicit TLS). */
  port: number;
  rootPid(): number;
  /** Log lines that say a message was not relayed (bounced, deferred, errors). */
  problems(): string[];
  stop(): Promise<void>;
}

export interface Common {
  host: string;
  tls: TlsMode;
  sinkHost: string;
  sinkPort: number;
  /** Parallel deliveries to the one destination (Postfix's default_destination_concurrency_limit is 20). */
  destinationConcurrency: number;
}

export async function startCorreo(dir: string, c: Common & { logLevel: number; nodeFlags: string[] }): Promise<RelayServer> {
  const service = c.tls === 'implicit' ? 'submissions' : 'submission';
  const p = await launchCorreo({
    dir, host: c.host, hostname: 'mail.example.test', domains: ['example.test'], services: [service],
    logLevel: c.logLevel, users: [USER], password: PASSWORD, nodeFlags: c.nodeFlags,
    dnsRecords: ['--local=/test/', `--mx-host=${REMOTE},mx.${REMOTE},10`, `--host-record=mx.${REMOTE},${c.sinkHost}`],
    extraToml: `
[auth_checks]
enabled = false

[outbound]
port = ${c.sinkPort}
max_per_destination = ${c.destinationConcurrency}
`,
  });
  return { name: 'Correo', host: c.host, port: p.port(service), rootPid: () => p.pid(), problems: () => p.problems(), stop: () => p.stop() };
}

/**
 * A private Postfix instance (as bench/lib/postfix.ts) with one submission service: smtpd with
 * `smtpd_tls_security_level=encrypt` (or `smtpd_tls_wrappermode=yes`), Cyrus SASL against a
 * sasldb (Dovecot SASL needs a running Dovecot), relaying for authenticated clients only.
 * Durability is Postfix's default: cleanup(8) fsyncs the queue file before smtpd answers 250.
 */
export async function startPostfix(dir: string, port: number, c: Common): Promise<RelayServer> {
  const etc = join(dir, 'pki'), sasl = join(dir, 'etc', 'sasl');
  for (const d of [etc, sasl]) mkdirSync(d, { recursive: true });
  chmodSync(dir, 0o755);

  // Self-signed certificate, as Correo makes for itself.
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=mail.example.test',
    '-keyout', join(etc, 'key.pem'), '-out', join(etc, 'cert.pem')], { timeout: 60_000 });
  await saslUser(sasl);
  writeFileSync(join(etc, 'transport'), `${REMOTE} smtp:[${c.sinkHost}]:${c.sinkPort}\n`);

  const tlsOpt = c.tls === 'implicit' ? '-o smtpd_tls_wrappermode=yes' : '-o smtpd_tls_security_level=encrypt';
  const pf = await startPostfixInstance(dir, {
    purpose: 'a private instance for the relay benchmark',
    mainCf: relayMainCf(etc, sasl, c),
    listeners: `${c.host}:${port} inet n - n - - smtpd
  ${tlsOpt}
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject`,
    services: `tlsmgr     unix  - - n 1000? 1 tlsmgr
smtp       unix  - - n -     - smtp
relay      unix  - - n -     - smtp
`,
  });
  return { name: 'Postfix', host: c.host, port, rootPid: () => pf.rootPid(), problems: () => pf.problems(), stop: () => pf.stop() };
}

/**
 * Cyrus SASL: the user in a sasldb that smtpd (user postfix, no chroot) reads. Debian's smtpd
 * reads smtpd.conf from $config_directory/sasl whatever cyrus_sasl_config_path says (strace).
 */
async function saslUser(sasl: string): Promise<void> {
  const sasldb = join(sasl, 'sasldb2');
  const [local, realm] = USER.split('@');
  try {
    await new Promise<void>((resolve, reject) => {
      const p = spawn('saslpasswd2', ['-f', sasldb, '-c', '-p', '-u', realm, local], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      p.stderr.on('data', (d) => (err += d));
      p.once('error', reject);
      p.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`saslpasswd2 exited ${code}: ${err}`))));
      p.stdin.end(PASSWORD);
    });
  } catch (e) {
    throw new Error(`${(e as Error).message} (apt-get install -y sasl2-bin libsasl2-modules)`);
  }
  chownSync(sasldb, uid('postfix'), gid('postfix'));
  chmodSync(sasl, 0o755);
  writeFileSync(join(sasl, 'smtpd.conf'), `pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: ${sasldb}\n`);
}

function relayMainCf(etc: string, sasl: string, c: Common): string {
  const never = 'error:this benchmark relays only to remote.test';
  return `myhostname = mail.example.test
mydomain = example.test
myorigin = $mydomain
mydestination =
# Postfix accepts only interface addresses here; master.cf binds the listener itself.
inet_interfaces = 127.0.0.1
mynetworks = 127.0.0.1/32

# remote.test goes to the sink through transport_maps, anything else is an error.
transport_maps = texthash:${join(etc, 'transport')}
default_transport = ${never}
relay_transport = ${never}
local_transport = ${never}
default_destination_concurrency_limit = ${c.destinationConcurrency}
smtp_tls_security_level = may

smtpd_tls_cert_file = ${join(etc, 'cert.pem')}
smtpd_tls_key_file = ${join(etc, 'key.pem')}
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = ${sasl}
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = yes
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_recipient_restrictions =
smtpd_relay_restrictions = permit_sasl_authenticated, reject
`;
}
