import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DOMAIN, RECIPIENT, notDelivered, type BenchTarget } from './target.js';
import { gid, startPostfixInstance, uid, type PostfixFiles, type PostfixInstance } from '../../test/helpers/postfix.js';

const run = promisify(execFile);

/** The mailbox files belong to this uid/gid (Debian's "nobody"/"nogroup"): the virtual(8) agent refuses root. */
const MAILBOX_UID = 65534;
const MAILBOX_GID = 65534;

// One Postfix set-up for the tests and the benches (issue 12): Debian's packaged build as it is.
export { startPostfixInstance, uid, gid, type PostfixInstance, type PostfixFiles };

/**
 * Postfix for the inbound benchmark: smtpd on one loopback port, and the virtual(8) agent
 * delivering to a Maildir for RECIPIENT. Every non-local transport is error(8). Durability is
 * Postfix's default: cleanup(8) fsyncs the queue file before smtpd answers 250, and virtual(8)
 * fsyncs the Maildir file before it reports "sent".
 */
export async function startPostfix(dir: string, host: string, port: number): Promise<BenchTarget> {
  const mail = join(dir, 'mail');
  const maildir = join(mail, 'user');
  chmodSync(dir, 0o755);
  // The Maildir made beforehand, so that its new/ can be watched from the first delivery on.
  const newDir = join(maildir, 'new');
  for (const d of [mail, maildir, ...['tmp', 'new', 'cur'].map((s) => join(maildir, s))]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chownSync(d, MAILBOX_UID, MAILBOX_GID);
  }
  const map = join(dir, 'vmailbox');
  writeFileSync(map, `${RECIPIENT} user/\n`);
  const pf = await startPostfixInstance(dir, {
    purpose: 'a private instance for the inbound SMTP benchmark',
    mainCf: inboundMainCf(mail, map, host),
    listeners: `${host}:${port} inet n - n - - smtpd`,
    services: 'virtual    unix  - n n -     - virtual\n',
  });
  const target: BenchTarget = {
    name: 'Postfix',
    host,
    port,
    rootPid: () => pf.rootPid(),
    delivered() {
      return readdirSync(newDir).length;
    },
    deliveredBy(count, deadline, failed) {
      return watchDelivered(target, newDir, count, deadline, failed);
    },
    problems: () => pf.problems(),
    stop: () => pf.stop(),
  };
  return target;
}

function inboundMainCf(mail: string, map: string, host: string): string {
  const noOutbound = 'error:this benchmark sends nothing off the machine';
  return `myhostname = mx.bench.test
mydomain = bench.test
myorigin = $mydomain
mydestination =
inet_interfaces = ${host}
mynetworks = 127.0.0.0/8
default_transport = ${noOutbound}
relay_transport = ${noOutbound}
local_transport = ${noOutbound}

# The benchmark's mailbox: ${RECIPIENT} -> Maildir ${mail}/user/
virtual_mailbox_domains = ${DOMAIN}
virtual_mailbox_base = ${mail}
virtual_mailbox_maps = texthash:${map}
virtual_alias_maps =
virtual_uid_maps = static:${MAILBOX_UID}
virtual_gid_maps = static:${MAILBOX_GID}
virtual_minimum_uid = ${MAILBOX_UID}

# Accept for ${DOMAIN} from anyone, relay for nobody: the same policy as Correo's port 25.
smtpd_client_restrictions =
smtpd_helo_restrictions =
smtpd_sender_restrictions =
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions =
`;
}

/**
 * Waits for `count` files in a Maildir's new/ without listing a directory of thousands of files
 * every few milliseconds (that would take CPU from Postfix): inotify says when a file arrives,
 * and a listing confirms only once the events add up. A slow listing every 2 s covers events
 * the kernel may drop when its inotify queue overflows.
 */
function watchDelivered(t: BenchTarget, newDir: string, count: number, deadline: number, failed: () => Error | null): Promise<bigint> {
  return new Promise((resolvePromise, reject) => {
    let seen = t.delivered();
    let settled = false;
    const finish = (e: Error | null, at?: bigint) => {
      if (settled) return;
      settled = true;
      watcher.close();
      clearInterval(slow);
      if (e) reject(e);
      else resolvePromise(at!);
    };
    const confirm = (at: bigint) => {
      seen = t.delivered();
      if (seen >= count) finish(null, at);
    };
    const watcher = watch(newDir, () => {
      if (++seen >= count) confirm(process.hrtime.bigint());
    });
    watcher.on('error', (e) => finish(e));
    const slow = setInterval(() => {
      confirm(process.hrtime.bigint());
      const e = failed();
      if (e) finish(e);
      else if (Date.now() > deadline) finish(notDelivered(t, count));
    }, 2000);
    confirm(process.hrtime.bigint());
  });
}
