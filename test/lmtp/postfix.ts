/**
 * A private Postfix (Debian's package) in front of Correo, the way the seed puts sendmail in
 * front of Cyrus: it takes mail for example.test on its own smtpd port and hands it to Correo
 * over LMTP (relay_transport = lmtp:inet:HOST:PORT). Its own config directory, queue and log
 * under `dir`; no DNS, no other way out. Set up by test/helpers/postfix.ts.
 */
import { startPostfixInstance } from '../helpers/postfix.js';


export interface FrontPostfix {
  port: number;
  maillog: string;
  log(): string;
  stop(): Promise<void>;
}


export async function startFrontPostfix(dir: string, port: number, domain: string, lmtp: string): Promise<FrontPostfix> {
  const never = 'error:this test instance sends nothing on';
  const pf = await startPostfixInstance(dir, {
    purpose: `a front MTA handing ${domain} to Correo over LMTP`,
    mainCf: `myhostname = front.test
mydomain = front.test
mydestination =
inet_interfaces = 127.0.0.1
mynetworks = 127.0.0.0/8
relay_domains = ${domain}
relay_recipient_maps =
relay_transport = lmtp:${lmtp}
default_transport = ${never}
local_transport = ${never}
smtpd_relay_restrictions = reject_unauth_destination
bounce_queue_lifetime = 0
maximal_queue_lifetime = 1h`,
    listeners: `127.0.0.1:${port} inet n - n - - smtpd`,
    services: 'lmtp       unix  - - n -     - lmtp',
  });
  return { port, maillog: pf.maillog, log: pf.log, stop: pf.stop };
}
