/**
 * A private Postfix (Debian's package) in front of Correo, the way the seed puts sendmail in
 * front of Cyrus: it takes mail for example.test on its own smtpd port and hands it to Correo
 * over LMTP (relay_transport = lmtp:inet:HOST:PORT). Its own config directory, queue and log
 * under `dir`; no DNS, no other way out. Modelled on test/outbound/postfix.ts.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface FrontPostfix {
  port: number;
  maillog: string;
  log(): string;
  stop(): Promise<void>;
}

function passwd(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no system user "${user}": apt-get install -y postfix`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
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
  writeFileSync(join(etc, 'master.cf'), `127.0.0.1:${port} inet n - n - - smtpd
pickup     unix  n - n 60    1 pickup
cleanup    unix  n - n -     0 cleanup
qmgr       unix  n - n 300   1 qmgr
rewrite    unix  - - n -     - trivial-rewrite
bounce     unix  - - n -     0 bounce
defer      unix  - - n -     0 bounce
trace      unix  - - n -     0 bounce
verify     unix  - - n -     1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -     - proxymap
proxywrite unix  - - n -     1 proxymap
showq      unix  n - n -     - showq
error      unix  - - n -     - error
retry      unix  - - n -     - error
discard    unix  - - n -     - discard
lmtp       unix  - - n -     - lmtp
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
postlog    unix-dgram n - n - 1 postlogd
`);
  const postfix = async (cmd: string) => {
    try {
      await run('/usr/sbin/postfix', ['-c', etc, cmd], { timeout: 60_000 });
    } catch (e) {
      const tail = existsSync(maillog) ? readFileSync(maillog, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`postfix -c ${etc} ${cmd} failed: ${(e as Error).message}\n${tail}`);
    }
  };
  await postfix('check');
  await postfix('start');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(queue, 'pid', 'master.pid'))) await postfix('stop');
  };
  const start = Date.now();
  while (!(existsSync(maillog) && readFileSync(maillog, 'utf8').includes('daemon started'))) {
    if (Date.now() - start > 30_000) {
      await stop().catch(() => undefined);
      throw new Error(`Postfix did not start within 30 s; see ${maillog}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { port, maillog, log: () => readFileSync(maillog, 'utf8'), stop };
}
