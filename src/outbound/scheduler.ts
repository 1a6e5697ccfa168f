import { readFileSync } from 'node:fs';
import type { BlobStore } from '../store/blobs.js';
import type { DueRecipient, QueueStore } from '../store/queue.js';
import type { QueueSignal } from '../store/notify.js';
import type { WriteOp } from '../store/batch.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { Resolver } from '../dns/resolver.js';
import type { Bouncer, ReportItem } from '../queue/bounce.js';
import type { DsnRecipient } from '../queue/dsn.js';
import type { MessageEnvelope } from '../queue/types.js';
import { BackgroundWorker } from '../queue/worker.js';
import { nextAttempt, type RetrySchedule } from '../queue/retry.js';
import { findAddresses, findMx, type MxHost, type MxResult } from './mx.js';
import { Mailertable, parseHostSpec, type Route } from './mailertable.js';
import { SmtpClientError, type ClientOptions, type SmtpConnection, type TransactionResult } from './client.js';
import { ConnectionPool } from './pool.js';
import { replyText, statusOf, type Reply } from './reply.js';
import { prepareMessage, type PreparedMessage } from './prepare.js';
import { DkimKeys } from '../dkim/keys.js';

/**
 * Remote delivery (DESIGN.md "the way a message travels", S4, S5, S14, S15, S20): picks the
 * queue recipients in status 'remote' whose time has come, groups them by message and route
 * (one connection delivers all recipients of one message for one destination), and runs at
 * most `max_per_destination` deliveries per destination and `max_total` in all.
 *
 * Outcomes, per recipient:
 * - 2xx to RCPT and to the data: done (a "relayed" DSN when NOTIFY=SUCCESS and the next hop
 *   has no DSN extension to carry it on, RFC 3461 5.2.2.2 ... 6.2).
 * - 5xx: failed now, DSN with Diagnostic-Code "smtp; 550 ..." and Remote-MTA.
 * - 4xx, no connection, DNS trouble: retried after retry_initial, doubling up to retry_max; a
 *   "delayed" DSN once after delay_warning; failed (4.4.7) once give_up has passed.
 *
 * Durability (DESIGN.md): a row becomes 'done' only after the remote 2xx, so a crash at any
 * point means a second delivery at worst, never none. A scan runs at start-up, when the
 * queue manager hands over new remote recipients, after each delivery, at the next due retry
 * and at least every minute.
 */

type Row = DueRecipient;

interface Job {
  queueId: string;
  rows: Row[];
  route: Extract<Route, { kind: 'smtp' }>;
  /** Routes chosen by the admin (smart host, mailertable): DNS failures there are never permanent. */
  configured: boolean;
  /** Concurrency key: the destination. */
  dest: string;
}

/** What became of one recipient. */
type Outcome =
  | { kind: 'sent'; reply: Reply; relay: string; dsnRelayed: boolean }
  | { kind: 'failed'; status: string; diagnostic: string; relay: string | null; text: string }
  | { kind: 'deferred'; status: string; diagnostic: string; relay: string | null; text: string };

const SCAN_LIMIT = 2000;
const MAX_RCPTS_PER_TRANSACTION = 100;
/** Addresses tried per delivery (Postfix's smtp_mx_address_limit is 5). */
const MAX_ADDRESSES = 10;
const MINUTE = 60_000;

export interface SchedulerOptions {
  queue: QueueStore;
  blobs: BlobStore;
  /** Wakes this scheduler ('remote') and local delivery ('local', for mailertable local: routes). */
  signal: QueueSignal;
  dns: Resolver;
  config: Config;
  log: Logger;
  bouncer: Bouncer;
  /** True for our host name, or one of our SMTP listening addresses on this port. */
  isSelf(nameOrAddress: string, port: number): boolean;
}

export class OutboundScheduler {
  private readonly pool = new ConnectionPool();
  private readonly mailertable: Mailertable;
  private readonly dkim: DkimKeys;
  private readonly inFlight = new Set<string>();
  private readonly perDest = new Map<string, number>();
  private readonly jobs = new Set<Promise<void>>();
  private readonly open = new Set<SmtpConnection>();
  private active = 0;
  private stopped = false;
  private readonly worker: BackgroundWorker;
  private readonly retry: RetrySchedule;

  constructor(private readonly o: SchedulerOptions) {
    this.mailertable = new Mailertable(o.config.maps.mailertable, o.log);
    this.dkim = new DkimKeys(o.config.dkim, o.log);
    const ob = o.config.outbound;
    this.retry = { initial: ob.retry_initial * 1000, max: ob.retry_max * 1000, giveUp: ob.give_up * 1000 };
    this.worker = new BackgroundWorker('outbound scan', () => this.scanOnce(), o.log, MINUTE);
    o.signal.onWake('remote', () => this.kick());
  }

  start(): void {
    this.kick();
    // Deliveries still running keep their recipients: renewed well before the lease runs out.
    this.renewal = setInterval(() => {
      const keys = [...this.inFlight].map((k) => ({ queueId: k.slice(0, k.indexOf('\0')), rcpt: k.slice(k.indexOf('\0') + 1) }));
      if (keys.length) void this.o.queue.renewLeases(keys, this.leaseMs).catch(() => undefined);
    }, Math.max(1000, this.leaseMs / 3));
    this.renewal.unref();
  }

  private renewal: NodeJS.Timeout | null = null;

  private get leaseMs(): number {
    return this.o.config.store.lease * 1000;
  }

  kick(): void {
    this.worker.kick();
  }

  /** `correo queue flush`: every waiting remote recipient is due now. */
  async flush(): Promise<void> {
    await this.o.queue.commit({ durability: 'full', parts: [{ ops: [{ op: 'rcpt.retryAt', queueId: null, rcpt: null, status: ['remote'], next: 0 }] }] });
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.renewal) clearInterval(this.renewal);
    await this.worker.stop();
    for (const c of this.open) c.close();
    await Promise.race([Promise.allSettled([...this.jobs]), new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.pool.close();
  }

  /** One scan; then sleep until the next retry is due, a minute at most. */
  private async scanOnce(): Promise<number> {
    await this.scan();
    // Rows due now but waiting for a free slot are picked up when a delivery ends (kick).
    const next = await this.o.queue.nextAttempt('remote', Date.now());
    return next === null ? Date.now() + MINUTE : Math.min(Date.now() + MINUTE, Math.max(Date.now() + 50, next + 20));
  }

  private async scan(): Promise<void> {
    if (this.stopped || this.active >= this.o.config.outbound.max_total) return;
    // Oldest first, but at most enough rows per domain to fill its delivery slots: a backlog
    // for one slow domain must not hide the mail for every other domain behind it.
    const perDomain = (this.o.config.outbound.max_per_destination + 1) * MAX_RCPTS_PER_TRANSACTION;
    // Claimed (leased to this node): on several nodes, each due recipient goes to one of them.
    const rows = (await this.o.queue.claimRemote(Date.now(), perDomain, SCAN_LIMIT, this.leaseMs)).filter((r) => !this.inFlight.has(`${r.queueId}\0${r.rcpt}`));
    if (!rows.length) return;

    const jobs: Job[] = [];
    const current = new Map<string, Job>();
    const immediate: { row: Row; outcome: Outcome }[] = [];
    const toLocal: { row: Row; user: string }[] = [];
    for (const row of rows) {
      const domain = row.rcpt.slice(row.rcpt.lastIndexOf('@') + 1).toLowerCase();
      const r = this.routeFor(domain);
      if (r.route.kind === 'error') {
        const permanent = r.route.status.startsWith('5');
        const o = { status: r.route.status, diagnostic: `x-correo; ${r.route.text}`, relay: null, text: `mailertable: ${r.route.text}` };
        immediate.push({ row, outcome: permanent ? { kind: 'failed', ...o } : { kind: 'deferred', ...o } });
        continue;
      }
      if (r.route.kind === 'local') {
        const user = this.localTarget(r.route.user, row.rcpt);
        if (typeof user === 'string') toLocal.push({ row, user });
        else immediate.push({ row, outcome: { kind: 'deferred', status: '4.3.5', diagnostic: `x-correo; ${user.error}`, relay: null, text: user.error } });
        continue;
      }
      const route = r.route;
      const dest = `${route.domain}|${route.mx}|${route.port ?? ''}`;
      const key = `${row.queueId}|${dest}`;
      let job = current.get(key);
      if (!job || job.rows.length >= MAX_RCPTS_PER_TRANSACTION) {
        job = { queueId: row.queueId, rows: [], route, configured: r.configured, dest };
        current.set(key, job);
        jobs.push(job);
      }
      job.rows.push(row);
    }

    if (immediate.length) this.track(this.record(immediate));
    if (toLocal.length) this.track(this.handToLocal(toLocal));

    const max = this.o.config.outbound;
    const waiting: Row[] = [];
    for (const job of jobs) {
      if (this.active >= max.max_total || (this.perDest.get(job.dest) ?? 0) >= max.max_per_destination) {
        waiting.push(...job.rows);
        continue;
      }
      this.active++;
      this.perDest.set(job.dest, (this.perDest.get(job.dest) ?? 0) + 1);
      for (const r of job.rows) this.inFlight.add(`${r.queueId}\0${r.rcpt}`);
      this.track(
        this.run(job).finally(() => {
          this.active--;
          const n = (this.perDest.get(job.dest) ?? 1) - 1;
          if (n) this.perDest.set(job.dest, n);
          else this.perDest.delete(job.dest);
          for (const r of job.rows) this.inFlight.delete(`${r.queueId}\0${r.rcpt}`);
          // A job that ended without recording an outcome (a bug, an outage) gives its rows back.
          void this.o.queue.renewLeases(job.rows, 0).catch(() => undefined).finally(() => this.kick());
        }),
      );
    }
    // Claimed, but no delivery slot free: back to the queue for the next scan.
    if (waiting.length) await this.o.queue.renewLeases(waiting, 0);
  }

  private track(p: Promise<void>): void {
    const q = p.catch((e) => this.o.log.error(null, `outbound delivery failed: ${(e as Error).stack ?? e}`)).finally(() => this.jobs.delete(q));
    this.jobs.add(q);
  }

  /** mailertable first (S20), then the smart host (S14), then the domain's MX. */
  private routeFor(domain: string): { route: Route; configured: boolean } {
    const m = this.mailertable.lookup(domain);
    if (m) return { route: m, configured: true };
    const smart = this.o.config.outbound.smart_host;
    if (smart) {
      const r = parseHostSpec(smart, 'relay');
      if (r) return { route: r, configured: true };
    }
    return { route: { kind: 'smtp', domain, mx: true, port: null, mailer: 'smtp' }, configured: false };
  }

  /** local:USER to a local address; never back to a remote one (that would loop). */
  private localTarget(user: string, rcpt: string): string | { error: string } {
    const domains = this.o.config.domains;
    const local = user || rcpt.slice(0, rcpt.lastIndexOf('@'));
    const address = local.includes('@') ? local : domains.length ? `${local}@${domains[0]}` : null;
    if (!address || !domains.includes(address.slice(address.lastIndexOf('@') + 1))) {
      return { error: `mailertable local:${user} for ${rcpt} does not name a local address (domains: ${domains.join(', ') || 'none'})` };
    }
    return address;
  }

  private async handToLocal(list: { row: Row; user: string }[]): Promise<void> {
    const ops: WriteOp[] = [];
    for (const { row, user } of list) {
      ops.push({ op: 'rcpt.add', queueId: row.queueId, rcpt: user, orcpt: row.orcpt ?? row.rcpt, notify: row.notify, status: 'pending', upgradeFrom: 'remote' });
      if (user !== row.rcpt) ops.push({ op: 'rcpt.status', queueId: row.queueId, rcpt: row.rcpt, status: 'done', from: ['remote'] });
    }
    await this.o.queue.commit({ durability: 'full', parts: [{ ops }] });
    for (const { row, user } of list) this.o.log.info(row.queueId, `to=<${row.rcpt}>, relay=local, status=routed by the mailertable to <${user}>`);
    this.o.signal.wake('local');
  }

  private clientOptions(job: Job, host: MxHost, address: string): ClientOptions {
    const ob = this.o.config.outbound;
    const smart = job.route.mailer === 'relay';
    let auth: ClientOptions['auth'] = null;
    if (smart && ob.smart_host_auth) {
      const line = readFileSync(ob.smart_host_auth, 'utf8').split(/\r?\n/)[0] ?? '';
      const colon = line.indexOf(':');
      if (colon <= 0) throw new SmtpClientError(`${ob.smart_host_auth}: first line must be "user:password"`, true, '4.3.5');
      auth = { user: line.slice(0, colon), password: line.slice(colon + 1) };
    }
    return {
      address,
      port: job.route.port ?? ob.port,
      hostname: host.name,
      helo: this.o.config.hostname,
      connectTimeout: ob.connect_timeout * 1000,
      commandTimeout: ob.command_timeout * 1000,
      dataTimeout: ob.data_timeout * 1000,
      tls: smart ? ob.smart_host_tls : ob.starttls ? 'opportunistic' : 'none',
      tlsVerify: smart ? ob.smart_host_tls_verify : false,
      auth,
      authWithoutTls: smart && ob.smart_host_tls === 'none',
      trace: this.o.log.enabled(20) ? (l) => this.o.log.log(20, job.queueId, l) : undefined,
    };
  }

  private async hosts(job: Job): Promise<MxResult> {
    const port = job.route.port ?? this.o.config.outbound.port;
    const opts = { isSelf: (x: string) => this.o.isSelf(x, port), tryNullMxList: this.o.config.outbound.try_null_mx_list };
    const r = job.route.mx ? await findMx(this.o.dns, job.route.domain, opts) : await findAddresses(this.o.dns, job.route.domain, opts);
    // A route the admin chose that does not resolve is the admin's to fix: keep the mail.
    if (!r.ok && r.permanent && job.configured) {
      return { ok: false, permanent: false, status: '4.4.3', text: `${r.text} (route for ${job.rows[0].rcpt.split('@').pop()} from ${job.route.mailer === 'relay' ? 'smart_host' : 'the mailertable'})` };
    }
    return r;
  }

  private async run(job: Job): Promise<void> {
    const outcomes = await this.deliver(job);
    await this.record(job.rows.map((row, i) => ({ row, outcome: outcomes[i] })), job);
  }

  /** Tries the destination's hosts in order until one takes the transaction. */
  private async deliver(job: Job): Promise<Outcome[]> {
    const all = (o: Outcome) => job.rows.map(() => o);
    const mx = await this.hosts(job);
    if (!mx.ok) {
      const o = { status: mx.status, diagnostic: `x-correo; ${mx.text}`, relay: null, text: mx.text };
      return all(mx.permanent ? { kind: 'failed', ...o } : { kind: 'deferred', ...o });
    }
    let message: PreparedMessage;
    try {
      const blob = await this.o.blobs.read(job.rows[0].blobId);
      message = prepareMessage(blob.subarray(job.rows[0].traceSkip), JSON.parse(job.rows[0].envelope) as MessageEnvelope, job.rows.map((r) => r.rcpt), this.dkim, this.o.log, job.queueId);
    } catch (e) {
      const text = `cannot read the queued message: ${(e as Error).message}`;
      return all({ kind: 'deferred', status: '4.3.0', diagnostic: `x-correo; ${text}`, relay: null, text });
    }

    let last: SmtpClientError | null = null;
    let anyTemporary = false;
    let tried = 0;
    for (const host of mx.hosts) {
      for (const address of host.addresses) {
        if (this.stopped || tried++ >= MAX_ADDRESSES) break;
        let opts: ClientOptions;
        try {
          opts = this.clientOptions(job, host, address);
        } catch (e) {
          const err = e instanceof SmtpClientError ? e : new SmtpClientError((e as Error).message, true, '4.3.5');
          return all({ kind: 'deferred', status: err.status, diagnostic: `x-correo; ${err.message}`, relay: null, text: err.message });
        }
        try {
          const result = await this.transaction(opts, job, message);
          return this.outcomes(job, result.result, result.relay, result.dsn);
        } catch (e) {
          const err = e instanceof SmtpClientError ? e : new SmtpClientError(`${host.name}[${address}]: ${(e as Error).message}`, true, '4.4.2');
          this.o.log.debug(job.queueId, `${err.message}; trying the next host`);
          last = err;
          if (err.temporary) anyTemporary = true;
        }
      }
    }
    const err = last ?? new SmtpClientError('no host to try', true, '4.4.1');
    const o = {
      status: err.status,
      diagnostic: err.reply ? `smtp; ${replyText(err.reply)}` : `x-correo; ${err.message}`,
      relay: null,
      text: err.message,
    };
    // Permanent only when no host failed in a way that might pass (RFC 5321 5.1: try them all).
    return all(anyTemporary || this.stopped ? { kind: 'deferred', ...o } : { kind: 'failed', ...o });
  }

  private async transaction(opts: ClientOptions, job: Job, message: PreparedMessage): Promise<{ result: TransactionResult; relay: string; dsn: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const conn = await this.pool.get(opts);
      const reused = conn.transactions > 0;
      this.open.add(conn);
      try {
        const variant = message.forServer(conn.ext);
        if (!variant.ok) {
          const r: Reply = { code: 554, enhanced: variant.status, lines: [variant.text] };
          this.pool.release(opts, conn);
          return { result: { rcpt: job.rows.map(() => r), data: null }, relay: conn.relay, dsn: conn.ext.dsn };
        }
        const result = await conn.send({
          sender: message.sender,
          recipients: job.rows.map((r) => ({ address: r.rcpt, notify: r.notify ? r.notify.split(',') : undefined, orcpt: r.orcpt })),
          ret: message.envelope.ret,
          envid: message.envelope.envid,
          eightBit: variant.eightBit,
          smtputf8: message.smtputf8,
          message: variant.message,
        });
        this.pool.release(opts, conn);
        return { result, relay: conn.relay, dsn: conn.ext.dsn };
      } catch (e) {
        conn.close();
        // A cached connection the server had already closed: one more try on a fresh one.
        if (reused && attempt === 0) continue;
        throw e;
      } finally {
        this.open.delete(conn);
      }
    }
  }

  private outcomes(job: Job, result: TransactionResult, relay: string, dsn: boolean): Outcome[] {
    return job.rows.map((_, i) => {
      const rr = result.rcpt[i];
      const reply = rr.code >= 200 && rr.code < 300 ? result.data ?? rr : rr;
      const text = `host ${relay} said: ${replyText(reply)}`;
      if (reply.code >= 200 && reply.code < 300) return { kind: 'sent', reply, relay, dsnRelayed: dsn };
      const o = { status: statusOf(reply), diagnostic: `smtp; ${replyText(reply)}`, relay, text };
      return reply.code >= 500 ? { kind: 'failed', ...o } : { kind: 'deferred', ...o };
    });
  }

  /** Writes the outcomes, sends the DSNs they call for, removes finished queue entries. */
  private async record(items: { row: Row; outcome: Outcome }[], job?: Job): Promise<void> {
    const r = this.outcomeOps(items, job);
    const queueIds = [...new Set(items.map((i) => i.row.queueId))];
    // The common case, nothing to report: the outcome and the queue entry's removal share
    // one commit (one fsync per delivered message rather than three). A "delayed" DSN is
    // decided by the commit (rcpt.warned) but never finishes an entry: its recipient stays.
    const finishNow = !r.failures.size && !r.relayed.size;
    if (finishNow) r.ops.push({ op: 'queue.finish', queueIds });
    const result = (await this.o.queue.commit({ durability: 'full', parts: [{ ops: r.ops }] })).parts[0];
    if (!result.ok) throw result.error;
    for (const [id, l] of r.logs) this.o.log.info(id, l);
    const delayed = new Map<string, { row: Row; dsn: DsnRecipient }[]>();
    for (const w of r.warnings) if (result.results[w.index]) push(delayed, w.row, w.dsn);
    await this.report(r.failures, delayed, r.relayed, finishNow ? null : queueIds);
  }

  /** The batch of one delivery's outcomes, and what to report once it is committed. */
  private outcomeOps(items: { row: Row; outcome: Outcome }[], job?: Job) {
    const ob = this.o.config.outbound;
    const now = Date.now();
    const mailer = job?.route.mailer ?? 'smtp';
    const failures = new Map<string, { row: Row; dsn: DsnRecipient }[]>();
    const relayed = new Map<string, { row: Row; dsn: DsnRecipient }[]>();
    const warnings: { index: number; row: Row; dsn: DsnRecipient }[] = [];
    const remoteMta = (relay: string | null) => relay?.replace(/\[.*$/, '');
    const ops: WriteOp[] = [];
    const logs: [string, string][] = [];
    let sent = 0, deferred = 0, failed = 0;
    for (const { row, outcome: o } of items) {
      const orig = row.orcpt?.replace(/^rfc822;/i, '');
      const head = `to=<${row.rcpt}>${orig && orig !== row.rcpt ? `, orig_to=<${orig}>` : ''}, relay=${o.kind === 'sent' ? o.relay : o.relay ?? 'none'}, delay=${((now - row.created) / 1000).toFixed(2)}, tries=${row.attempts + 1}`;
      if (o.kind === 'sent') {
        ops.push({ op: 'rcpt.status', queueId: row.queueId, rcpt: row.rcpt, status: 'done', from: ['remote'], attempt: true, lastError: null });
        sent++;
        logs.push([row.queueId, `${head}, dsn=${statusOf(o.reply)}, status=sent (${replyText(o.reply)})`]);
        // RFC 3461 5.2.2: a next hop without DSN cannot report success; we say "relayed".
        if (!o.dsnRelayed && (row.notify ?? '').toUpperCase().split(',').includes('SUCCESS')) {
          push(relayed, row, { address: row.rcpt, original: row.orcpt ?? undefined, action: 'relayed', status: statusOf(o.reply), remoteMta: remoteMta(o.relay), diagnostic: `smtp; ${replyText(o.reply)}` });
        }
        continue;
      }
      if (o.kind === 'deferred' && this.stopped) continue; // shutting down: not a real attempt
      if (o.kind === 'failed' || now - row.created >= ob.give_up * 1000) {
        const status = o.kind === 'failed' ? o.status : '4.4.7';
        const text = o.kind === 'failed' ? o.text : `gave up after ${(ob.give_up / 3600).toFixed(1)} hours: ${o.text}`;
        push(failures, row, { address: row.rcpt, original: row.orcpt ?? undefined, action: 'failed', status, remoteMta: remoteMta(o.relay), diagnostic: o.diagnostic, lastAttempt: new Date(now) });
        logs.push([row.queueId, `${head}, dsn=${status}, status=bounced (${text})`]);
        failed++;
        continue;
      }
      ops.push({ op: 'rcpt.defer', queueId: row.queueId, rcpt: row.rcpt, status: 'remote', next: nextAttempt(this.retry, row.attempts + 1, row.created, now, 1000), lastError: o.text });
      logs.push([row.queueId, `${head}, dsn=${o.status}, status=deferred (${o.text})`]);
      deferred++;
      if (now - row.created >= ob.delay_warning * 1000) {
        warnings.push({ index: ops.length, row, dsn: {
          address: row.rcpt, original: row.orcpt ?? undefined, action: 'delayed', status: o.status, remoteMta: remoteMta(o.relay),
          diagnostic: o.diagnostic, lastAttempt: new Date(now), willRetryUntil: new Date(row.created + ob.give_up * 1000),
        } });
        ops.push({ op: 'rcpt.warned', queueId: row.queueId, rcpt: row.rcpt });
      }
    }
    const counts: [string, number][] = [[`bounced.${mailer}.rcpts`, failed], [`deferred.${mailer}.rcpts`, deferred]];
    if (sent && job) counts.push([`delivered.${mailer}.msgs`, 1], [`delivered.${mailer}.bytes`, job.rows[0].size - job.rows[0].traceSkip], [`delivered.${mailer}.rcpts`, sent]);
    ops.push({ op: 'stats.add', counts });
    return { ops, logs, failures, relayed, warnings };
  }

  /** The DSNs of a delivery; then the failed recipients are marked, and `finish` entries removed. */
  private async report(failures: Map<string, { row: Row; dsn: DsnRecipient }[]>, delayed: typeof failures, relayed: typeof failures, finish: string[] | null): Promise<void> {
    const report = (l: { row: Row; dsn: DsnRecipient }[]): ReportItem[] => l.map((x) => ({ rcpt: x.row.rcpt, notify: x.row.notify, dsn: x.dsn }));
    const ops: WriteOp[] = [];
    for (const [queueId, list] of failures) {
      try {
        await this.o.bouncer.report(queueId, report(list), 'failure');
      } catch (e) {
        // Keep them 'remote': tried again in a minute, and bounced then.
        this.o.log.error(queueId, `cannot queue the DSN, will retry: ${(e as Error).message}`);
        for (const f of list) ops.push({ op: 'rcpt.retryAt', queueId, rcpt: f.row.rcpt, status: ['remote'], next: Date.now() + MINUTE });
        continue;
      }
      for (const f of list) ops.push({ op: 'rcpt.status', queueId, rcpt: f.row.rcpt, status: 'failed', from: ['remote'], attempt: true, lastError: f.dsn.diagnostic ?? f.dsn.status });
    }
    for (const [queueId, list] of delayed) {
      await this.o.bouncer.report(queueId, report(list), 'delay').catch((e) => this.o.log.warn(queueId, `cannot queue the delay DSN: ${(e as Error).message}`));
    }
    for (const [queueId, list] of relayed) {
      await this.o.bouncer.report(queueId, report(list), 'success').catch((e) => this.o.log.warn(queueId, `cannot queue the relay DSN: ${(e as Error).message}`));
    }
    if (finish) ops.push({ op: 'queue.finish', queueIds: finish });
    if (ops.length) await this.o.queue.commit({ durability: 'full', parts: [{ ops }] });
  }
}

function push(m: Map<string, { row: Row; dsn: DsnRecipient }[]>, row: Row, dsn: DsnRecipient): void {
  m.set(row.queueId, [...(m.get(row.queueId) ?? []), { row, dsn }]);
}

export type { MxResult };
