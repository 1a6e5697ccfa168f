/**
 * A private Postfix (Debian's package) in front of Correo, the way the seed puts sendmail in
 * front of Cyrus: it takes mail for example.test on its own smtpd port and hands it to Correo
 * over LMTP (relay_transport = lmtp:inet:HOST:PORT). Its own config directory, queue and log
 * under `dir`; no DNS, no other way out. Modelled on test/outbound/postfix.ts.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { passwd, runPostfix, writeMasterCf } from '../helpers/postfix.js';


export interface FrontPostfix {
  port: number;
  maillog: string;
  log(): string;
  stop(): Promise<void>;
}


export async function startFrontPostfix(dir: string, port: number, domain: string, lmtp: string): Promise<FrontPostfix> {
  const etc = join(dir, 'etc'), queue = join(dir, 'queue'), data = join(dir, 'data');
  const maillog = join(dir, 'maillog');
  chmodSync(dir, 0o755);
  for (const d of [etc, queue, data]) mkdirSync(d, { recursive: true });
  const pf = passwd('postfix');
  chownSync(data, pf.uid, pf.gid);
  const never = 'error:this test instance sends nothing on';
  writeFileSync(join(etc, 'main.cf'), `compatibility_level = 3.6
config_directory = ${etc}
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = front.test
mydomain = front.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
disable_dns_lookups = yes
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
smtpd_peername_lookup = no
relay_domains = ${domain}
relay_recipient_maps =
relay_transport = lmtp:${lmtp}
default_transport = ${never}
local_transport = ${never}
alias_maps =
alias_database =
smtpd_relay_restrictions = reject_unauth_destination
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1h
biff = no
maillog_file = ${maillog}
maillog_file_prefixes = ${dir}
`);
  writeMasterCf(etc, `127.0.0.1:${port}`, ['lmtp       unix  - - n -     - lmtp']);
  const stop = await runPostfix(etc, queue, maillog);
  return { port, maillog, log: () => readFileSync(maillog, 'utf8'), stop };
}
