import { EventEmitter } from 'node:events';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Server, AddressInfo } from 'node:net';
import type { Config, ListenAddress } from './config/types.js';
import type { Context } from './context.js';
import { Logger } from './log/logger.js';
import { openDatabase } from './store/db.js';
import { BlobStore } from './store/blobs.js';
import { SqliteStore } from './store/sqlite.js';
import { GroupCommit } from './store/group-commit.js';
import { makeAuthenticator } from './auth/accounts.js';
import { Spool } from './queue/spool.js';
import { QueueManager } from './queue/manager.js';
import { OutboundScheduler } from './outbound/scheduler.js';
import { selfCheck } from './outbound/self.js';
import { AddressResolver, userLookup } from './delivery/resolve.js';
import { LocalRecipients } from './delivery/local-recipients.js';
import { ExternalDelivery } from './delivery/external.js';
import { Resolver } from './dns/resolver.js';
import { openMaps } from './maps/index.js';
import { checkNamedFiles } from './maps/check.js';
import { Policy } from './policy/engine.js';
import { ensureCertificate, TlsContexts } from './tls/certs.js';
import { startSmtp, startSubmission } from './smtp/server.js';
import { SenderRules } from './smtp/senders.js';
import { Pickup } from './smtp/pickup.js';
import { startPop3 } from './pop3/server.js';
import { startImap } from './imap/server.js';
import { startLmtp, startLmtpSocket } from './lmtp/server.js';

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
  flush(): void;
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

export async function startServer(config: Config): Promise<RunningServer> {
  // Fail closed: a missing, unreadable or broken map stops the start (issue 9 item 10).
  checkNamedFiles(config);
  const log = new Logger(config.hostname, config.log.level, config.log.file);
  mkdirSync(config.data_dir, { recursive: true });
  const db = openDatabase(config.data_dir);
  const blobs = new BlobStore(join(config.data_dir, 'blobs'));
  mkdirSync(blobs.dir, { recursive: true });
  const store = new SqliteStore(db, blobs);
  const events = new EventEmitter();
  events.setMaxListeners(0);
  await ensureCertificate(config.tls, config.hostname, log);
  const tls = new TlsContexts(config.tls, log);
  tls.current();

  const maps = openMaps(config, log.child('maps'));
  const resolver = new AddressResolver(config, userLookup(db), log.child('resolve'), maps);
  const commits = new GroupCommit(db);
  let manager: QueueManager | null = null;
  const spool = new Spool(db, blobs, commits, log.child('queue'), config.storage.min_free_bytes, () => manager?.kick());
  manager = new QueueManager(db, store, blobs, resolver, spool, log.child('local'), events, config.hostname);
  spool.atCommit = (id, envelope, size) => manager!.deliverAtCommit(id, envelope, size);
  manager.external = new ExternalDelivery(config.delivery, log.child('local'));
  manager.retry = { initial: config.outbound.retry_initial * 1000, max: config.outbound.retry_max * 1000, giveUp: config.outbound.give_up * 1000 };

  const recipients = new LocalRecipients(resolver);
  const dns = new Resolver(config.dns.servers, config.dns.timeout);
  const ctx: Context = {
    config,
    log,
    store,
    blobs,
    auth: makeAuthenticator(config, store, db, log.child('auth')),
    intake: spool,
    recipients,
    dns,
    policy: new Policy({ config, maps, recipients, dns, log: log.child('policy') }),
    tls: () => tls.current(),
    events,
    senders: new SenderRules({
      config,
      resolve: (a) => resolver.resolveSync(a),
      isLocalDomain: (d) => resolver.isLocalDomain(d),
      userExists: userLookup(db),
      log: log.child('senders'),
    }),
  };

  const servers: Server[] = [];
  const listening: RunningServer['listening'] = {};
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
        for (const l of addrs) {
          let srv: Server;
          try {
            srv = await s.start(ctx, l, implicitTls);
          } catch (e) {
            throw bindError(portName, l, e as NodeJS.ErrnoException);
          }
          servers.push(srv);
          const a = srv.address() as AddressInfo;
          (listening[portName] ??= []).push({ host: a.address, port: a.port });
          log.notice(null, `listening: ${portName} on ${a.address}:${a.port}`);
        }
      }
    }
    // RFC 2033 LMTP: another MTA delivering into the store (S29).
    for (const l of config.lmtp.listen) {
      let srv: Server;
      try {
        srv = await startLmtp(ctx, l);
      } catch (e) {
        throw bindError('lmtp', l, e as NodeJS.ErrnoException);
      }
      servers.push(srv);
      const a = srv.address() as AddressInfo;
      (listening.lmtp ??= []).push({ host: a.address, port: a.port });
      log.notice(null, `listening: lmtp on ${a.address}:${a.port}`);
    }
    if (config.lmtp.socket) {
      servers.push(await startLmtpSocket(ctx, config.lmtp.socket));
      log.notice(null, `listening: lmtp on ${config.lmtp.socket}`);
    }
  } catch (e) {
    for (const s of servers) s.close();
    db.close();
    throw e;
  }
  const outbound = new OutboundScheduler({
    db, blobs, dns: ctx.dns, config, log: log.child('smtp-out'), bouncer: manager.bouncer,
    finish: (ids) => manager!.finish(ids),
    finishInTransaction: (ids) => manager!.finishInTransaction(ids),
    removeFiles: (ids) => store.removeFiles(ids),
    kickLocal: () => manager?.kick(),
    isSelf: selfCheck(config.hostname, listening.smtp ?? []),
  });
  manager.remote = outbound;
  const runFile = join(config.data_dir, 'listening.json');
  writeFileSync(runFile, JSON.stringify({ pid: process.pid, ...listening }, null, 2));
  manager.kick(); // whatever a previous run left in the queue
  outbound.start();
  // S31: messages the local sendmail command left in the maildrop.
  const pickup = new Pickup(ctx, config.sendmail.maildrop, log.child('pickup'));
  pickup.start();

  return {
    ctx,
    listening,
    flush: () => {
      manager?.kick();
      outbound.flush();
    },
    async close() {
      manager?.stop();
      pickup.stop();
      await outbound.stop();
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      ctx.policy.close();
      rmSync(runFile, { force: true });
      db.close();
      log.close();
    },
  };
}
