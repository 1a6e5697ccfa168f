import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORREO_CLI } from '../lib/correo.js';
import { startDns, type TestDns } from '../../test/helpers/dns.js';

/** A running IMAP server under test: its port, the root of its process tree, and how to stop it. */
export interface ImapTarget {
  name: string;
  port: number;
  pid: () => number;
  stop(): Promise<void>;
  /** Stops and starts the server on the same data (memory measured from a fresh process). */
  restart(): Promise<void>;
}

export const PASSWORD = 'bench-pass-1';
export const user = (i: number) => `bench${i}@example.test`;

async function waitFor<T>(what: string, fn: () => T | undefined, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function stopper(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): () => Promise<void> {
  return () =>
    new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
      child.kill(signal);
    });
}

/** Correo as an admin runs it (`correo serve`), IMAP only, plaintext LOGIN allowed on loopback. */
export async function startCorreo(dir: string, users: number): Promise<ImapTarget> {
  const dns: TestDns = await startDns();
  const configFile = join(dir, 'correo.toml');
  writeFileSync(configFile, `hostname = "mail.bench.test"
data_dir = ${JSON.stringify(join(dir, 'data'))}
domains = ["example.test"]
admins = []
[smtp]
listen = []
[submission]
listen = []
listen_tls = []
[imap]
listen = ["127.0.0.1:0"]
listen_tls = []
[pop3]
listen = []
listen_tls = []
[auth]
plaintext_without_tls = true
[log]
level = ${Number(process.env.BENCH_CORREO_LOG_LEVEL ?? 5)}
file = ${JSON.stringify(join(dir, 'mail.log'))}
[dns]
servers = [${JSON.stringify(dns.server)}]
`);
  for (let i = 0; i < users; i++) {
    const r = spawnSync(process.execPath, [CORREO_CLI, 'user', 'add', user(i), '--password-stdin', '--config', configFile], { input: PASSWORD, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`correo user add: ${r.stderr}`);
  }
  const flags = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
  const runFile = join(dir, 'data', 'listening.json');
  const launch = async () => {
    rmSync(runFile, { force: true });
    const child = spawn(process.execPath, [...flags, CORREO_CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'inherit'] });
    const port = await waitFor('correo listening.json', () => {
      if (!existsSync(runFile)) return undefined;
      try {
        return (JSON.parse(readFileSync(runFile, 'utf8')) as { imap: { port: number }[] }).imap[0].port;
      } catch {
        return undefined;
      }
    }, 30_000);
    return { child, port };
  };
  let cur = await launch();
  const t: ImapTarget = {
    name: 'correo',
    port: cur.port,
    pid: () => cur.child.pid!,
    stop: async () => {
      await stopper(cur.child)();
      await dns.stop();
    },
    restart: async () => {
      await stopper(cur.child)();
      cur = await launch();
      t.port = cur.port;
    },
  };
  return t;
}

/**
 * Dovecot (Debian's 2.3) from its own config directory: passwd-file users, Maildir under
 * `dir`, one imap process per session (its default), plaintext auth on loopback, mail
 * fsync at its default ("optimized"). Limits raised so that thousands of sessions fit.
 */
export async function startDovecot(dir: string, users: number, port: number): Promise<ImapTarget> {
  const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim();
  const nogroup = spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim();
  // Dovecot's auth and mail processes run as other users: they must reach their files.
  chmodSync(dir, 0o755);
  for (const d of ['run', 'state', 'home']) mkdirSync(join(dir, d), { recursive: true });
  chownSync(join(dir, 'home'), Number(nobody), Number(nogroup));
  writeFileSync(join(dir, 'passwd'), Array.from({ length: users }, (_, i) => `${user(i)}:{PLAIN}${PASSWORD}`).join('\n') + '\n', { mode: 0o644 });
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, `base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:~/Maildir
mailbox_list_index = yes
mail_max_userip_connections = 100000
default_process_limit = 12000
default_client_limit = 15000
default_vsz_limit = 1G
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/passwd
}
userdb {
  driver = static
  args = uid=${nobody} gid=${nogroup} home=${dir}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
  service_count = 0
  process_min_avail = 2
  client_limit = 12000
}
service imap {
  process_limit = 12000
}
service auth {
  client_limit = 15000
}
protocol imap {
  mail_max_userip_connections = 100000
  imap_idle_notify_interval = 30 mins
}
`);
  const launch = async () => {
    const child = spawn('/usr/sbin/dovecot', ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor('dovecot listening', () => {
      const r = spawnSync('bash', ['-c', `exec 3<>/dev/tcp/127.0.0.1/${port} && head -c 4 <&3`], { encoding: 'utf8', timeout: 2000 });
      return r.stdout.startsWith('* OK') ? true : undefined;
    }, 30_000);
    return child;
  };
  let child = await launch();
  return {
    name: 'dovecot', port, pid: () => child.pid!, stop: () => stopper(child)(),
    restart: async () => {
      await stopper(child)();
      child = await launch();
    },
  };
}
