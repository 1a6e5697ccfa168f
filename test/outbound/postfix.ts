/**
 * A private Postfix (Debian's package) that plays the remote MX for remote.test: its own config
 * directory, queue and Maildir under `dir`, smtpd on one 127.x address and port, STARTTLS with
 * a self-signed certificate, no DNS (disable_dns_lookups) and no way out (every non-local
 * transport is error(8)). Modelled on bench/lib/postfix.ts.
 */
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';

const run = promisify(execFile);
const NOBODY = 65534;

export interface TestPostfix {
  host: string;
  port: number;
  maillog: string;
  /** Files delivered to the Maildir of `user` (local part). */
  delivered(user: string): string[];
  stop(): Promise<void>;
}

function passwd(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no system user "${user}": apt-get install -y postfix`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

export async function startPostfix(dir: string, host: string, port: number, domain: string, users: string[]): Promise<TestPostfix> {
  const etc = join(dir, 'etc'), queue = join(dir, 'queue'), data = join(dir, 'data'), mail = join(dir, 'mail');
  const maillog = join(dir, 'maillog');
  chmodSync(dir, 0o755);
  for (const d of [etc, queue, data, mail]) mkdirSync(d, { recursive: true });
  const pf = passwd('postfix');
  chownSync(data, pf.uid, pf.gid);
  chownSync(mail, NOBODY, NOBODY);
  const pems = await generate([{ name: 'commonName', value: `mx.${domain}` }], { keySize: 2048, algorithm: 'sha256' } as Parameters<typeof generate>[1]);
  writeFileSync(join(etc, 'key.pem'), pems.private, { mode: 0o600 });
  writeFileSync(join(etc, 'cert.pem'), pems.cert);
  writeFileSync(join(etc, 'vmailbox'), users.map((u) => `${u}@${domain} ${u}/\n`).join(''));
  const never = 'error:this test instance sends nothing on';
  writeFileSync(join(etc, 'main.cf'), `compatibility_level = 3.6
config_directory = ${etc}
queue_directory = ${queue}
data_directory = ${data}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.${domain}
mydomain = ${domain}
mydestination =
# Postfix checks inet_interfaces against the interfaces' own addresses (127.0.0.1 only);
# master.cf binds smtpd to ${host}, which loopback routes all the same.
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
default_transport = ${never}
relay_transport = ${never}
local_transport = ${never}
alias_maps =
alias_database =
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
smtpd_tls_loglevel = 1
biff = no
maillog_file = ${maillog}
maillog_file_prefixes = ${dir}
`);
  writeFileSync(join(etc, 'master.cf'), `${host}:${port} inet n - n - - smtpd
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
virtual    unix  - n n -     - virtual
anvil      unix  - - n -     1 anvil
scache     unix  - - n -     1 scache
tlsmgr     unix  - - n 1000? 1 tlsmgr
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
  return {
    host,
    port,
    maillog,
    delivered(user) {
      const d = join(mail, user, 'new');
      return existsSync(d) ? readdirSync(d).map((f) => readFileSync(join(d, f), 'utf8')) : [];
    },
    stop,
  };
}
