/**
 * A private Postfix (Debian's package) that plays the remote MX for remote.test: its own config
 * directory, queue and Maildir under `dir`, smtpd on one 127.x address and port, STARTTLS with
 * a self-signed certificate, no DNS (disable_dns_lookups) and no way out (every non-local
 * transport is error(8)). Set up by test/helpers/postfix.ts.
 */
import { chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPostfixInstance } from '../helpers/postfix.js';
import { generate } from 'selfsigned';

const NOBODY = 65534;

export interface TestPostfix {
  host: string;
  port: number;
  maillog: string;
  /** Files delivered to the Maildir of `user` (local part). */
  delivered(user: string): string[];
  stop(): Promise<void>;
}


export async function startPostfix(dir: string, host: string, port: number, domain: string, users: string[]): Promise<TestPostfix> {
  const etc = join(dir, 'etc'), mail = join(dir, 'mail');
  for (const d of [etc, mail]) mkdirSync(d, { recursive: true });
  chownSync(mail, NOBODY, NOBODY);
  const pems = await generate([{ name: 'commonName', value: `mx.${domain}` }], { keySize: 2048, algorithm: 'sha256' } as Parameters<typeof generate>[1]);
  writeFileSync(join(etc, 'key.pem'), pems.private, { mode: 0o600 });
  writeFileSync(join(etc, 'cert.pem'), pems.cert);
  writeFileSync(join(etc, 'vmailbox'), users.map((u) => `${u}@${domain} ${u}/\n`).join(''));
  const never = 'error:this test instance sends nothing on';
  const pf = await startPostfixInstance(dir, {
    purpose: `the remote MX of ${domain}`,
    mainCf: `myhostname = mx.${domain}
mydomain = ${domain}
mydestination =
# Postfix checks inet_interfaces against the interfaces' own addresses (127.0.0.1 only);
# master.cf binds smtpd to ${host}, which loopback routes all the same.
inet_interfaces = 127.0.0.1
mynetworks = 127.0.0.0/8
default_transport = ${never}
relay_transport = ${never}
local_transport = ${never}
virtual_mailbox_domains = ${domain}
virtual_mailbox_base = ${mail}
virtual_mailbox_maps = texthash:${join(etc, 'vmailbox')}
virtual_alias_maps =
virtual_uid_maps = static:${NOBODY}
virtual_gid_maps = static:${NOBODY}
virtual_minimum_uid = ${NOBODY}
smtpd_relay_restrictions = reject_unauth_destination
smtpd_tls_cert_file = ${join(etc, 'cert.pem')}
smtpd_tls_key_file = ${join(etc, 'key.pem')}
smtpd_tls_security_level = may
smtpd_tls_loglevel = 1`,
    listeners: `${host}:${port} inet n - n - - smtpd`,
    services: 'virtual    unix  - n n -     - virtual\ntlsmgr     unix  - - n 1000? 1 tlsmgr',
  });
  return {
    host,
    port,
    maillog: pf.maillog,
    delivered(user) {
      const d = join(mail, user, 'new');
      return existsSync(d) ? readdirSync(d).map((f) => readFileSync(join(d, f), 'utf8')) : [];
    },
    stop: pf.stop,
  };
}
