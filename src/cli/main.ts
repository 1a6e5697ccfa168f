#!/usr/bin/env node
import { existsSync, readFileSync } from 'node:fs';
import { findConfigFile, loadConfig } from '../config/load.js';
import { ConfigError } from '../config/errors.js';
import type { Config } from '../config/types.js';
import { parseAliases } from '../config/aliases.js';
import { checkNamedFiles } from '../maps/check.js';
import { openCliStore } from './store.js';
import { makeAuthenticator, setPassword } from '../auth/accounts.js';
import { Logger } from '../log/logger.js';
import { parseArgs, UsageError } from './args.js';
import { askNewPassword, readStdinLine } from './prompt.js';
import { writeStarterConfig } from './init.js';
import { ensureSystemUser } from '../privileges/system-user.js';
import { isRoot } from '../privileges/passwd.js';
import { runAsServerUser } from '../privileges/cli-user.js';

const USAGE = `usage: correo COMMAND [--config FILE] ...

  serve [--init]                      run every service (SMTP, POP3, ...) in one process;
                                      --init writes a starter config first if there is none
  init [--hostname H] [--domain D]    write a commented starter config file
  user add ADDRESS [--password-stdin] create a mail user (asks the password twice)
  user del ADDRESS                    delete a user and their mail
  user list                           list users
  user passwd ADDRESS [--password-stdin]
  user test ADDRESS [--service S]     check a password read from stdin, like testsaslauthd
  aliases                             check the aliases file and report (newaliases)
  queue [list]                        the mail queue, like mailq
  queue show|delete|hold|release ID   one message: details / remove (no bounce) / stop / resume
  queue flush                         retry every waiting recipient now
  stats                               messages and bytes received and delivered (mailstats)
  store migrate --to URL|sqlite:DIR   copy the stopped server's store to PostgreSQL (postgres://USER@HOST/DB) or back, and verify
  dkim keygen DOMAIN [--selector S] [--algorithm rsa|ed25519]
                                      make a DKIM key; prints the DNS record to publish
  dkim record DOMAIN [--selector S]   print the DNS record of an existing key
  policy check --from ADDR --to ADDR --ip IP [--helo NAME] [--auth USER]
                                      what the SMTP server would answer and why (exit 0
                                      accepted, 1 refused); nothing is sent
  forward set ADDRESS TARGET...       a user's forward list (like ~/.forward); also
  forward show|clear ADDRESS          "\ADDRESS" to keep a copy, "|program" (sandboxed)
  sieve put USER FILE [NAME]          store a Sieve script (checked; NAME: FILE without .sieve)
  sieve get|activate|delete USER NAME  print / make active / remove one script
  sieve list|deactivate USER          a user's scripts (the active one marked) / none active
  sieve check USER FILE               check a script's syntax (FILE:LINE:COLUMN errors)
  sendmail [-t] [-i] [-f ADDR] [-F NAME] [-bs|-bp] [RCPT...]
                                      the local sendmail command (also installed as
                                      "sendmail"); "mailq" = sendmail -bp

--config FILE defaults to ./correo.toml, then /etc/correo/correo.toml.`;


const ADDRESS = /^[^\s@<>]+@[a-z0-9-]+(\.[a-z0-9-]+)*$/i;

function qualify(cfg: Config, address: string): string {
  const a = address.toLowerCase();
  if (!a.includes('@') && cfg.domains.length === 1) return `${a}@${cfg.domains[0]}`;
  if (!ADDRESS.test(a)) throw new UsageError(`"${address}" is not a mail address (user@domain)`);
  return a;
}

async function password(opts: Record<string, string | true>, address: string): Promise<string> {
  const p = opts['password-stdin'] ? await readStdinLine() : await askNewPassword(address);
  if (!p) throw new Error('empty password; nothing changed');
  return p;
}

async function userCommand(cfg: Config, args: string[], opts: Record<string, string | true>): Promise<number> {
  const [sub, who] = args;
  const stores = await openCliStore(cfg);
  const store = stores.mailboxes;
  try {
    switch (sub) {
      case 'add': {
        if (!who) throw new UsageError('user add needs an ADDRESS');
        const address = qualify(cfg, who);
        const domain = address.split('@')[1];
        if (!cfg.domains.includes(domain)) {
          throw new Error(`${domain} is not one of this server's domains (${cfg.domains.join(', ') || 'none'}); add it to "domains" in ${cfg.file}`);
        }
        if (await store.getUser(address)) throw new Error(`user ${address} already exists`);
        await setPassword(cfg, store, stores.secrets, address, await password(opts, address), true);
        console.log(`created ${address}`);
        return 0;
      }
      case 'del': {
        if (!who) throw new UsageError('user del needs an ADDRESS');
        const address = qualify(cfg, who);
        if (!(await store.deleteUser(address))) throw new Error(`no user ${address}`);
        console.log(`deleted ${address} and all of their mail`);
        return 0;
      }
      case 'list':
        for (const u of await store.listUsers()) console.log(u.address);
        return 0;
      case 'passwd': {
        if (!who) throw new UsageError('user passwd needs an ADDRESS');
        const address = qualify(cfg, who);
        if (!(await store.getUser(address))) throw new Error(`no user ${address}`);
        await setPassword(cfg, store, stores.secrets, address, await password(opts, address), false);
        console.log(`password changed for ${address}`);
        return 0;
      }
      case 'test': {
        if (!who) throw new UsageError('user test needs an ADDRESS');
        const service = (opts.service as string | undefined) ?? 'imap';
        if (!['pop3', 'imap', 'smtp', 'submission', 'sieve'].includes(service)) throw new UsageError(`unknown service ${service}`);
        const auth = makeAuthenticator(cfg, store, stores.secrets, new Logger(cfg.hostname, 0, null), 1000, 1);
        const r = await auth.verify(who, await readStdinLine(), service as 'imap', 'cli');
        console.log(r.ok ? '0: OK "Success."' : '0: NO "authentication failed"');
        return r.ok ? 0 : 1;
      }
      default:
        throw new UsageError(`unknown "user ${sub ?? ''}"; use add, del, list, passwd or test`);
    }
  } finally {
    await stores.close();
  }
}

function aliasesCommand(cfg: Config): number {
  const file = cfg.maps.aliases;
  if (!file) throw new Error(`no aliases file configured ([maps] aliases in ${cfg.file}); the built-in postmaster and MAILER-DAEMON aliases apply`);
  // Every named file, as at the server's start: newaliases is how admins check their edits.
  checkNamedFiles(cfg);
  const text = readFileSync(file, 'utf8');
  const aliases = parseAliases(text, file);
  let longest = 0;
  for (const [k, v] of aliases) longest = Math.max(longest, k.length + v.join(',').length);
  console.log(`${file}: ${aliases.size} aliases, longest ${longest} bytes, ${Buffer.byteLength(text)} bytes total`);
  console.log('a running server picks up the change by itself');
  return 0;
}

async function serve(cfgFile: string | undefined, opts: Record<string, string | true>): Promise<number> {
  if (opts.init && !cfgFile && !existsSync('./correo.toml') && !existsSync('/etc/correo/correo.toml')) {
    const unprivileged = typeof process.getuid === 'function' && process.getuid() !== 0;
    const path = writeStarterConfig('./correo.toml', { portOffset: unprivileged ? 10000 : 0 });
    console.error(`wrote ${path}${unprivileged ? ' (not root: services on ports 10025, 10587, 10465, 10143, 10993, 10110, 10995)' : ''}`);
    if (!unprivileged) {
      const created = loadConfig(path);
      console.error(ensureSystemUser(created.server.user, created.data_dir));
    }
  }
  const cfg = loadConfig(findConfigFile(cfgFile));
  // Loaded here so that the user/alias commands start fast and never open a listener.
  const { startServer } = await import('../server.js');
  const server = await startServer(cfg);
  const stop = async (sig: string) => {
    server.ctx.log.notice(null, `stopping on ${sig}`);
    const t = setTimeout(() => process.exit(0), 5000);
    t.unref();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // `correo queue flush` / `release`: run the queue now.
  process.on('SIGUSR2', () => void server.flush().catch((e) => server.ctx.log.error(null, `queue flush failed: ${(e as Error).message}`)));
  // One broken session must not take the server down; the failure is logged with its stack.
  process.on('uncaughtException', (e) => server.ctx.log.error(null, `uncaught: ${e.stack ?? e}`));
  process.on('unhandledRejection', (e) => server.ctx.log.error(null, `unhandled rejection: ${(e as Error)?.stack ?? e}`));
  server.ctx.log.notice(null, `correo started: ${cfg.hostname}, data in ${cfg.data_dir}, config ${cfg.file}`);
  return new Promise<number>(() => undefined);
}

/** The config, with this process now running as the server's user (privileges/cli-user.ts). */
function serverUserConfig(cfgFile: string | undefined): Config {
  const cfg = loadConfig(findConfigFile(cfgFile));
  runAsServerUser(cfg);
  return cfg;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // sendmail's own option syntax (-t -i -f addr ...), not ours.
  if (command === 'sendmail' || command === 'mailq') return (await import('./sendmail.js')).sendmailMain(rest, command);
  try {
    const { positional, options } = parseArgs(rest, ['config', 'hostname', 'domain', 'service', 'selector', 'algorithm', 'from', 'to', 'ip', 'helo', 'auth'], ['password-stdin', 'init', 'help']);
    const cfgFile = options.config as string | undefined;
    switch (command) {
      case 'serve':
        return await serve(cfgFile, options);
      case 'init': {
        const path = writeStarterConfig(cfgFile ?? './correo.toml', { hostname: options.hostname as string, domain: options.domain as string });
        console.log(`wrote ${path}; edit it, then run: correo serve --config ${path}`);
        if (isRoot()) {
          const cfg = loadConfig(path);
          console.log(ensureSystemUser(cfg.server.user, cfg.data_dir));
        }
        return 0;
      }
      case 'user':
        return await userCommand(serverUserConfig(cfgFile), positional, options);
      case 'queue':
        return await (await import('./queue.js')).queueCommand(serverUserConfig(cfgFile), positional);
      case 'stats':
        return await (await import('./stats.js')).statsCommand(serverUserConfig(cfgFile));
      case 'store':
        return await (await import('./store-migrate.js')).storeCommand(serverUserConfig(cfgFile), positional, options);
      case 'dkim':
        return (await import('./dkim.js')).dkimCommand(loadConfig(findConfigFile(cfgFile)), positional, options);
      case 'policy':
        return await (await import('./policy.js')).policyCommand(loadConfig(findConfigFile(cfgFile)), positional, options);
      case 'forward':
        return await (await import('./forward.js')).forwardCommand(serverUserConfig(cfgFile), positional);
      case 'sieve':
        return await (await import('./sieve.js')).sieveCommand(serverUserConfig(cfgFile), positional);
      case 'aliases':
      case 'newaliases':
        return aliasesCommand(loadConfig(findConfigFile(cfgFile)));
      case undefined:
      case 'help':
      case '--help':
        console.log(USAGE);
        return command ? 0 : 2;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`correo: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(e instanceof ConfigError ? e.message : `correo: ${(e as Error).message}`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => process.exit(code));
