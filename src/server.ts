import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Server, AddressInfo } from 'node:net';
import type { Config, ListenAddress } from './config/types.js';
import type { Context } from './context.js';
import { Logger } from './log/logger.js';
import type { Stores } from './store/open.js';
import { openConfiguredStore } from './store/configured.js';
import { makeAuthenticator } from './auth/accounts.js';
import { Spool } from './queue/spool.js';
import { FastPath } from './queue/fast-path.js';
import { MimeIndexer } from './queue/mime-index.js';
import { TextBackfill } from './queue/text-index.js';
import { QueueManager } from './queue/manager.js';
import { SieveRunner } from './queue/sieve-plan.js';
import { SieveDelivery } from './delivery/sieve-delivery.js';
import { OutboundScheduler } from './outbound/scheduler.js';
import { selfCheck } from './outbound/self.js';
import { AddressResolver } from './delivery/resolve.js';
import { LocalRecipients } from './delivery/local-recipients.js';
import { ExternalDelivery } from './delivery/external.js';
import { Resolver } from './dns/resolver.js';
import { openMaps, type Maps } from './maps/index.js';
import { checkNamedFiles } from './maps/check.js';
import { Policy } from './policy/engine.js';
import { ensureCertificate, TlsContexts } from './tls/certs.js';
import { startSmtp, startSubmission } from './smtp/server.js';
import { SenderRules } from './smtp/senders.js';
import { Pickup } from './smtp/pickup.js';
import { startPop3 } from './pop3/server.js';
import { startImap } from './imap/server.js';
import { startLmtp, startLmtpSocket } from './lmtp/server.js';
import { startManageSieve } from './managesieve/server.js';
import { DeliveryHelper } from './delivery/helper.js';
import { isRoot, type SystemUser } from './privileges/passwd.js';
import { checkReachable, dropRoot, serverUser } from './privileges/drop.js';
import { secureDataDir } from './privileges/data-dir.js';
import { adoptInheritedSockets, unusedInherited } from './privileges/socket-activation.js';
import { prepareMaildrop } from './smtp/maildrop.js';
import { startShowq } from './smtp/showq.js';
import { queueListing } from './cli/queue.js';

type StartFn = (ctx: Context, listen: ListenAddress, implicitTls: boolean) => Promise<Server>;

/** Each service, the config section that places it, and the names its ports get in listening.json. */
const SERVICES: { name: string; section: 'smtp' | 'submission' | 'imap' | 'pop3'; plain: string; tls: string; start: StartFn | null }[] = [
  { name: 'smtp', section: 'smtp', plain: 'smtp', tls: 'smtps', start: startSmtp },
  { name: 'submission', section: 'submission', plain: 'submission', tls: 'submissions', start: startSubmission },
  { name: 'imap', section: 'imap', plain: 'imap', tls: 'imaps', start: startImap },
  { name: 'pop3', section: 'pop3', plain: 'pop3', tls: 'pop3s', start: startPop3 },
];

export interface RunningServer {
  ctx: Context;
  /** Bound addresses by port name ("smtp", "pop3s", ...). */
  listening: Record<string, { host: string; port: number }[]>;
  /** Makes every queued remote recipient due now (`correo queue flush`, SIGUSR2). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

function bindError(service: string, l: ListenAddress, e: NodeJS.ErrnoException): Error {
  const why =
    e.code === 'EACCES' ? `permission denied${l.port < 1024 ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''}`
    : e.code === 'EADDRINUSE' ? 'the address is already in use (another mail server running?)'
    : e.code === 'EADDRNOTAVAIL' ? 'no interface on this machine has that address'
    : e.message;
  return new Error(`cannot listen on ${l.text} for ${service}: ${why}`);
}

/**
 * Issue 9 items 4 and 5, once the ports are bound: the delivery helper forked while still
 * root, data_dir (and the maildrop) made the server user's with 0700/0600, then root dropped.
 * Not started as root: only the modes.
 */
function dropPrivileges(config: Config, runAs: SystemUser | null, log: Logger): DeliveryHelper | null {
  const helper = runAs ? new DeliveryHelper(config.delivery, log.child('helper')) : null;
  const owner = runAs ? { uid: runAs.uid, gid: runAs.gid } : null;
  prepareMaildrop(config.sendmail.maildrop, owner);
  const problems = secureDataDir(config.data_dir, { owner, maildrop: config.sendmail.maildrop, keep: config.file ? [config.file] : [] });
  for (const p of problems) log.warn(null, `data_dir: cannot secure ${p}`);
  if (runAs) {
    dropRoot(runAs);
    log.notice(null, `running as ${runAs.name} (uid ${runAs.uid}); program and file deliveries through the helper, pid ${helper!.pid}`);
  }
  return helper;
}

export interface ServerOptions {
  /**
   * The store's writer thread died: nothing can be written any more. The default logs the
   * reason and exits non-zero (a restart recovers: the queue is re-run, idempotency keys
   * prevent duplicate deliveries), never a silent stall.
   */
  onStoreFailure?: (e: Error) => void;
}

export async function startServer(config: Config, opts: ServerOptions = {}): Promise<RunningServer> {
  // Fail closed: a missing, unreadable or broken map stops the start (issue 9 item 10).
  checkNamedFiles(config);
  // Issue 9 item 4: nothing this process creates is readable by other local users.
  process.umask(0o077);
  // Before anything is opened: a missing user is a clear error, not a server left running as root.
  const runAs = isRoot() ? serverUser(config.server.user) : null;
  if (runAs) checkReachable(config.data_dir, config.sendmail.maildrop, runAs);
  const inherited = await adoptInheritedSockets();
  const log = new Logger(config.hostname, config.log.level, config.log.file);
  mkdirSync(config.data_dir, { recursive: true });
  const stores = await openConfiguredStore(config, {
    writer: 'thread',
    sweepOrphans: true,
    onFatal: opts.onStoreFailure ?? ((e) => {
      log.error(null, `stopping: ${e.message}`);
      log.close();
      process.exit(70); // EX_SOFTWARE
    }),
  });
  stores.orphansSwept.then(
    (n) => n && log.notice(null, `store: removed ${n} body file(s) no record held (left by a crash before their commit)`),
    (e) => log.warn(null, `store: the sweep of orphan body files stopped: ${(e as Error).message}`),
  );
  try {
    return await startServices(config, log, stores, { runAs, inherited });
  } catch (e) {
    await stores.close();
    throw e;
  }
}

/** The queue's parts, each built complete, in dependency order. */
function buildQueue(config: Config, log: Logger, stores: Stores, resolver: AddressResolver) {
  const { mailboxes, blobs, queue, changes, queueSignal: signal } = stores;
  const mime = new MimeIndexer(blobs, mailboxes, queue, log.child('local'));
  const sieve = new SieveDelivery({ config, store: stores.sieve, blobs, log: log.child('sieve') });
  const fastPath = new FastPath({ resolver, mailboxes, changes, signal, mime, log: log.child('local'), remote: true, sieve });
  const spool = new Spool({ queue, blobs, signal, log: log.child('queue'), minFreeBytes: config.storage.min_free_bytes, fastPath });
  const ob = config.outbound;
  // Its privileged helper is attached once forked, just before root is dropped.
  const external = new ExternalDelivery(config.delivery, log.child('local'));
  const manager = new QueueManager({
    queue, mailboxes, blobs, changes, signal, resolver, intake: spool, mime, log: log.child('local'), hostname: config.hostname,
    external,
    sieve: new SieveRunner({ sieve, store: mailboxes, blobs, log: log.child('sieve') }),
    retry: { initial: ob.retry_initial * 1000, max: ob.retry_max * 1000, giveUp: ob.give_up * 1000 },
    leaseMs: config.store.lease * 1000,
  });
  return { spool, manager, external };
}

async function buildContext(config: Config, log: Logger, stores: Stores, resolver: AddressResolver, maps: Maps, spool: Spool): Promise<Context> {
  await ensureCertificate(config.tls, config.hostname, log);
  const tls = new TlsContexts(config.tls, log);
  tls.current();
  const recipients = new LocalRecipients(resolver);
  const dns = new Resolver(config.dns.servers, config.dns.timeout);
  return {
    config,
    log,
    store: stores.mailboxes,
    search: stores.search,
    blobs: stores.blobs,
    auth: makeAuthenticator(config, stores.mailboxes, stores.secrets, log.child('auth')),
    intake: spool,
    recipients,
    dns,
    policy: new Policy({ config, maps, recipients, dns, log: log.child('policy') }),
    tls: () => tls.current(),
    changes: stores.changes,
    locks: stores.locks,
    sieve: stores.sieve,
    senders: new SenderRules({
      config,
      resolve: (a) => resolver.resolveSync(a),
      isLocalDomain: (d) => resolver.isLocalDomain(d),
      userExists: (a) => stores.users.has(a),
      log: log.child('senders'),
    }),
  };
}

/** Opens every configured listener; on a failure closes those already open. */
async function openListeners(ctx: Context): Promise<{ servers: Server[]; listening: RunningServer['listening'] }> {
  const { config, log } = ctx;
  const servers: Server[] = [];
  const listening: RunningServer['listening'] = {};
  const bound = (name: string, srv: Server) => {
    servers.push(srv);
    const a = srv.address() as AddressInfo;
    (listening[name] ??= []).push({ host: a.address, port: a.port });
    log.notice(null, `listening: ${name} on ${a.address}:${a.port}`);
  };
  try {
    for (const s of SERVICES) {
      const sect = config[s.section];
      for (const [addrs, implicitTls] of [[sect.listen, false], [sect.listen_tls, true]] as const) {
        if (!addrs.length) continue;
        const portName = implicitTls ? s.tls : s.plain;
        if (!s.start) {
          log.notice(null, `${portName}: not implemented in this version; not listening on ${addrs.map((a) => a.text).join(', ')}`);
          continue;
        }
        for (const l of addrs) bound(portName, await s.start(ctx, l, implicitTls).catch((e) => { throw bindError(portName, l, e as NodeJS.ErrnoException); }));
      }
    }
    // RFC 2033 LMTP: another MTA delivering into the store (S29).
    for (const l of config.lmtp.listen) bound('lmtp', await startLmtp(ctx, l).catch((e) => { throw bindError('lmtp', l, e as NodeJS.ErrnoException); }));
    // RFC 5804 ManageSieve (4190).
    for (const l of config.managesieve.listen) bound('managesieve', await startManageSieve(ctx, ctx.sieve, l).catch((e) => { throw bindError('managesieve', l, e as NodeJS.ErrnoException); }));
    if (config.lmtp.socket) {
      servers.push(await startLmtpSocket(ctx, config.lmtp.socket));
      log.notice(null, `listening: lmtp on ${config.lmtp.socket}`);
    }
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
  return { servers, listening };
}

/** Builds each part complete, in dependency order, opens the listeners, then starts the queue runners. */
async function startServices(config: Config, log: Logger, stores: Stores, privs: { runAs: SystemUser | null; inherited: string[] }): Promise<RunningServer> {
  const { blobs, queue, queueSignal: signal } = stores;
  const maps = openMaps(config, log.child('maps'));
  const resolver = new AddressResolver(config, (a) => stores.users.has(a), log.child('resolve'), maps);
  const { spool, manager, external } = buildQueue(config, log, stores, resolver);
  const ctx = await buildContext(config, log, stores, resolver, maps, spool);
  let opened: Awaited<ReturnType<typeof openListeners>>;
  try {
    opened = await openListeners(ctx);
  } catch (e) {
    ctx.policy.close();
    throw e;
  }
  const { servers, listening } = opened;
  if (privs.inherited.length) log.notice(null, `socket activation: ${privs.inherited.length} inherited socket(s): ${privs.inherited.join(', ')}`);
  for (const k of unusedInherited()) log.warn(null, `socket activation: inherited socket ${k} matches no configured listen address; not used`);
  const helper = dropPrivileges(config, privs.runAs, log);
  external.attachHelper(helper);
  const outbound = new OutboundScheduler({
    queue, blobs, signal, dns: ctx.dns, config, log: log.child('smtp-out'), bouncer: manager.bouncer,
    isSelf: selfCheck(config.hostname, listening.smtp ?? []),
  });
  const runFile = join(config.data_dir, 'listening.json');
  writeFileSync(runFile, JSON.stringify({ pid: process.pid, ...listening }, null, 2));
  manager.kick(); // whatever a previous run left in the queue
  outbound.start();
  // S31: messages the local sendmail command left in the maildrop.
  const pickup = new Pickup(ctx, config.sendmail.maildrop, log.child('pickup'));
  pickup.start();
  // Issue 10: bodies stored before the full-text index (or left without an entry) indexed now.
  const backfill = new TextBackfill(stores.search, stores.mailboxes, stores.blobs, stores.queue, log.child('local'));
  backfill.start();
  // mailq for local users who cannot read the database: their own messages only.
  const everything = (uid: number) => uid === 0 || uid === process.getuid?.();
  const showq = await startShowq(config.sendmail.maildrop, (uid) => queueListing(stores, everything(uid) ? undefined : (e) => e.localUid === uid), log.child('showq'));

  return {
    ctx,
    listening,
    flush: async () => {
      manager.kick();
      await outbound.flush();
    },
    async close() {
      await pickup.stop();
      await backfill.stop();
      await manager.stop();
      showq.close();
      await outbound.stop();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      ctx.policy.close();
      helper?.close();
      rmSync(runFile, { force: true });
      await stores.close();
      log.close();
    },
  };
}
