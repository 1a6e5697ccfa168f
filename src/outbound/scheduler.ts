import type { Statement } from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import type { DB } from '../store/db.js';
import type { BlobStore } from '../store/blobs.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { Resolver } from '../dns/resolver.js';
import type { RemoteTransport } from '../queue/manager.js';
import type { Bouncer, ReportItem } from '../queue/bounce.js';
import type { DsnRecipient } from '../queue/dsn.js';
import type { MessageEnvelope } from '../queue/types.js';
import { ensureOutboundSchema } from '../queue/outbound-schema.js';
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

interface Row {
  queue_id: string;
  rcpt: string;
  orcpt: string | null;
  notify: string | null;
  attempts: number;
  last_error: string | null;
  sender: string;
  envelope: string;
  blob_id: string;
  size: number;
  created: number;
  trace_skip: number;
}

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
  db: DB;
  blobs: BlobStore;
  dns: Resolver;
  config: Config;
  log: Logger;
  bouncer: Bouncer;
  /** Removes finished queue entries (QueueManager.finish). */
  finish(queueIds: string[]): Promise<void>;
  /** The same inside the caller's transaction; returns blob files to remove after the commit. */
  finishInTransaction(queueIds: string[]): string[];
  removeFiles(blobIds: string[]): Promise<void>;
  /** Wakes the local delivery (for mailertable local: routes). */
  kickLocal(): void;
  /** True for our host name, or one of our SMTP listening addresses on this port. */
  isSelf(nameOrAddress: string, port: number): boolean;
}

export class OutboundScheduler implements RemoteTransport {
  private readonly pool = new ConnectionPool();
  private readonly mailertable: Mailertable;
  private readonly dkim: DkimKeys;
  private readonly inFlight = new Set<string>();
  private readonly perDest = new Map<string, number>();
  private readonly jobs = new Set<Promise<void>>();
  private readonly open = new Set<SmtpConnection>();
  private active = 0;
  private timer: NodeJS.Timeout | null = null;
  private scanning = false;
  private again = false;
  private stopped = false;

  private readonly prepared = new Map<string, Statement>();

  /** Statements prepared once: preparing them on every delivery cost a tenth of the CPU. */
  private prep<P extends unknown[] = unknown[], R = unknown>(sql: string): Statement<P, R> {
    let st = this.prepared.get(sql);
    if (!st) this.prepared.set(sql, (st = this.o.db.prepare(sql)));
    return st as unknown as Statement<P, R>;
  }

  constructor(private readonly o: SchedulerOptions) {
    ensureOutboundSchema(o.db);
    this.mailertable = new Mailertable(o.config.maps.mailertable, o.log);
    this.dkim = new DkimKeys(o.config.dkim, o.log);
  }

  start(): void {
    this.kick();
  }

  kick(): void {
    if (this.stopped) return;
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    setImmediate(() => void this.scanLoop());
  }

  /** `correo queue flush`: every waiting remote recipient is due now. */
  flush(): void {
    this.prep(`UPDATE queue_rcpt SET next_attempt = 0 WHERE status = 'remote'`).run();
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const c of this.open) c.close();
    await Promise.race([Promise.allSettled([...this.jobs]), new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.pool.close();
  }

  private async scanLoop(): Promise<void> {
    try {
      do {
        this.again = false;
        this.scan();
      } while (this.again && !this.stopped);
    } catch (e) {
      this.o.log.error(null, `outbound scan failed: ${(e as Error).stack ?? e}`);
    } finally {
      this.scanning = false;
      this.arm();
    }
  }

  /** Sleeps until the next retry is due, a minute at most. */
  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    let wait = MINUTE;
    try {
      const next = this.o.db
        // Rows due now but waiting for a free slot are picked up when a delivery ends (kick).
        .prepare<[number], { t: number | null }>(`SELECT min(r.next_attempt) AS t FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id WHERE r.status = 'remote' AND r.next_attempt > ? AND q.held = 0`)
        .get(Date.now())?.t;
      if (next !== null && next !== undefined) wait = Math.min(MINUTE, Math.max(50, next - Date.now() + 20));
    } catch {
      // The database is closing; the minute timer is harmless.
    }
    this.timer = setTimeout(() => this.kick(), wait);
    this.timer.unref();
  }

  private scan(): void {
    if (this.stopped || this.active >= this.o.config.outbound.max_total) return;
    // Oldest first, but at most enough rows per domain to fill its delivery slots: a backlog
    // for one slow domain must not hide the mail for every other domain behind it.
    const perDomain = (this.o.config.outbound.max_per_destination + 1) * MAX_RCPTS_PER_TRANSACTION;
    const rows = this.o.db
      .prepare<[number, number, number], Row>(
        `SELECT * FROM (
           SELECT r.queue_id, r.rcpt, r.orcpt, r.notify, r.attempts, r.last_error,
                  q.sender, q.envelope, q.blob_id, q.size, q.created, q.trace_skip,
                  row_number() OVER (PARTITION BY lower(substr(r.rcpt, instr(r.rcpt, '@') + 1)) ORDER BY q.created) AS n
             FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
            WHERE r.status = 'remote' AND r.next_attempt <= ? AND q.held = 0)
          WHERE n <= ? ORDER BY created LIMIT ?`,
      )
      .all(Date.now(), perDomain, SCAN_LIMIT)
      .filter((r) => !this.inFlight.has(`${r.queue_id}\0${r.rcpt}`));
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
      const key = `${row.queue_id}|${dest}`;
      let job = current.get(key);
      if (!job || job.rows.length >= MAX_RCPTS_PER_TRANSACTION) {
        job = { queueId: row.queue_id, rows: [], route, configured: r.configured, dest };
        current.set(key, job);
        jobs.push(job);
      }
      job.rows.push(row);
    }

    if (immediate.length) this.track(this.record(immediate));
    if (toLocal.length) this.handToLocal(toLocal);

    const max = this.o.config.outbound;
    for (const job of jobs) {
      if (this.active >= max.max_total) break;
      if ((this.perDest.get(job.dest) ?? 0) >= max.max_per_destination) continue;
      this.active++;
      this.perDest.set(job.dest, (this.perDest.get(job.dest) ?? 0) + 1);
      for (const r of job.rows) this.inFlight.add(`${r.queue_id}\0${r.rcpt}`);
      this.track(
        this.run(job).finally(() => {
          this.active--;
          const n = (this.perDest.get(job.dest) ?? 1) - 1;
          if (n) this.perDest.set(job.dest, n);
          else this.perDest.delete(job.dest);
          for (const r of job.rows) this.inFlight.delete(`${r.queue_id}\0${r.rcpt}`);
          this.kick();
        }),
      );
    }
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

  private handToLocal(list: { row: Row; user: string }[]): void {
    const db = this.o.db;
    const done = this.prep(`UPDATE queue_rcpt SET status = 'done' WHERE queue_id = ? AND rcpt = ? AND status = 'remote'`);
    const add = this.prep(`INSERT INTO queue_rcpt (queue_id, rcpt, orcpt, notify, status) VALUES (?, ?, ?, ?, 'pending')
                              ON CONFLICT (queue_id, rcpt) DO UPDATE SET status = 'pending' WHERE status = 'remote'`);
    db.transaction(() => {
      for (const { row, user } of list) {
        add.run(row.queue_id, user, row.orcpt ?? row.rcpt, row.notify);
        if (user !== row.rcpt) done.run(row.queue_id, row.rcpt);
      }
    })();
    for (const { row, user } of list) this.o.log.info(row.queue_id, `to=<${row.rcpt}>, relay=local, status=routed by the mailertable to <${user}>`);
    this.o.kickLocal();
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
      const blob = await this.o.blobs.read(job.rows[0].blob_id);
      message = prepareMessage(blob.subarray(job.rows[0].trace_skip), JSON.parse(job.rows[0].envelope) as MessageEnvelope, job.rows.map((r) => r.rcpt), this.dkim, this.o.log, job.queueId);
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
    const db = this.o.db;
    const ob = this.o.config.outbound;
    const now = Date.now();
    const mailer = job?.route.mailer ?? 'smtp';
    const failures = new Map<string, { row: Row; dsn: DsnRecipient }[]>();
    const relayedReports = new Map<string, { row: Row; dsn: DsnRecipient }[]>();
    const delayReports = new Map<string, { row: Row; dsn: DsnRecipient }[]>();
    const push = (m: Map<string, { row: Row; dsn: DsnRecipient }[]>, row: Row, dsn: DsnRecipient) => m.set(row.queue_id, [...(m.get(row.queue_id) ?? []), { row, dsn }]);
    const remoteMta = (relay: string | null) => relay?.replace(/\[.*$/, '');
    let sent = 0;

    const logs: [string, string][] = [];
    const queueIds = [...new Set(items.map((i) => i.row.queue_id))];
    let files: string[] | null = null;
    db.transaction(() => {
      const done = this.prep(`UPDATE queue_rcpt SET status = 'done', attempts = attempts + 1, last_error = NULL WHERE queue_id = ? AND rcpt = ? AND status = 'remote'`);
      const defer = this.prep(`UPDATE queue_rcpt SET attempts = attempts + 1, next_attempt = ?, last_error = ? WHERE queue_id = ? AND rcpt = ? AND status = 'remote'`);
      const warned = this.prep<[string, string], { n: number }>(`SELECT count(*) AS n FROM queue_warned WHERE queue_id = ? AND rcpt = ?`);
      const warn = this.prep(`INSERT OR IGNORE INTO queue_warned (queue_id, rcpt) VALUES (?, ?)`);
      for (const { row, outcome: o } of items) {
        const delay = ((now - row.created) / 1000).toFixed(2);
        const head = `to=<${row.rcpt}>${row.orcpt && row.orcpt.replace(/^rfc822;/i, '') !== row.rcpt ? `, orig_to=<${row.orcpt.replace(/^rfc822;/i, '')}>` : ''}, relay=${o.kind === 'sent' ? o.relay : o.relay ?? 'none'}, delay=${delay}, tries=${row.attempts + 1}`;
        if (o.kind === 'sent') {
          done.run(row.queue_id, row.rcpt);
          sent++;
          logs.push([row.queue_id, `${head}, dsn=${statusOf(o.reply)}, status=sent (${replyText(o.reply)})`]);
          // RFC 3461 5.2.2: a next hop without DSN cannot report success; we say "relayed".
          if (!o.dsnRelayed && (row.notify ?? '').toUpperCase().split(',').includes('SUCCESS')) {
            push(relayedReports, row, { address: row.rcpt, original: row.orcpt ?? undefined, action: 'relayed', status: statusOf(o.reply), remoteMta: remoteMta(o.relay), diagnostic: `smtp; ${replyText(o.reply)}` });
          }
          continue;
        }
        if (o.kind === 'deferred' && this.stopped) continue; // shutting down: not a real attempt
        const expired = now - row.created >= ob.give_up * 1000;
        if (o.kind === 'failed' || expired) {
          const status = o.kind === 'failed' ? o.status : '4.4.7';
          const text = o.kind === 'failed' ? o.text : `gave up after ${(ob.give_up / 3600).toFixed(1)} hours: ${o.text}`;
          push(failures, row, { address: row.rcpt, original: row.orcpt ?? undefined, action: 'failed', status, remoteMta: remoteMta(o.relay), diagnostic: o.diagnostic, lastAttempt: new Date(now) });
          logs.push([row.queue_id, `${head}, dsn=${status}, status=bounced (${text})`]);
          continue;
        }
        const attempts = row.attempts + 1;
        const backoff = Math.min(ob.retry_max, ob.retry_initial * 2 ** Math.min(attempts - 1, 30));
        const next = Math.min(now + backoff * 1000, row.created + ob.give_up * 1000);
        defer.run(Math.max(next, now + 1000), o.text, row.queue_id, row.rcpt);
        logs.push([row.queue_id, `${head}, dsn=${o.status}, status=deferred (${o.text})`]);
        if (now - row.created >= ob.delay_warning * 1000 && warned.get(row.queue_id, row.rcpt)!.n === 0) {
          warn.run(row.queue_id, row.rcpt);
          push(delayReports, row, {
            address: row.rcpt, original: row.orcpt ?? undefined, action: 'delayed', status: o.status, remoteMta: remoteMta(o.relay),
            diagnostic: o.diagnostic, lastAttempt: new Date(now), willRetryUntil: new Date(row.created + ob.give_up * 1000),
          });
        }
      }
      const stat = this.prep('INSERT INTO stats (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value');
      if (sent && job) {
        stat.run(`delivered.${mailer}.msgs`, 1);
        stat.run(`delivered.${mailer}.bytes`, job.rows[0].size - job.rows[0].trace_skip);
        stat.run(`delivered.${mailer}.rcpts`, sent);
      }
      const nFailed = [...failures.values()].reduce((n, l) => n + l.length, 0);
      if (nFailed) stat.run(`bounced.${mailer}.rcpts`, nFailed);
      const nDeferred = logs.filter(([, l]) => l.includes('status=deferred')).length;
      if (nDeferred) stat.run(`deferred.${mailer}.rcpts`, nDeferred);
      // The common case, nothing to report: the outcome and the queue entry's removal share
      // this commit (one fsync per delivered message rather than three).
      if (!failures.size && !delayReports.size && !relayedReports.size) files = this.o.finishInTransaction(queueIds);
    })();
    for (const [id, l] of logs) this.o.log.info(id, l);

    const report = (l: { row: Row; dsn: DsnRecipient }[]): ReportItem[] => l.map((x) => ({ rcpt: x.row.rcpt, notify: x.row.notify, dsn: x.dsn }));
    for (const [queueId, list] of failures) {
      try {
        await this.o.bouncer.report(queueId, report(list), 'failure');
      } catch (e) {
        // Keep them 'remote': tried again in a minute, and bounced then.
        this.o.log.error(queueId, `cannot queue the DSN, will retry: ${(e as Error).message}`);
        const later = this.prep(`UPDATE queue_rcpt SET next_attempt = ? WHERE queue_id = ? AND rcpt = ?`);
        for (const f of list) later.run(Date.now() + MINUTE, queueId, f.row.rcpt);
        continue;
      }
      const mark = this.prep(`UPDATE queue_rcpt SET status = 'failed', attempts = attempts + 1, last_error = ? WHERE queue_id = ? AND rcpt = ? AND status = 'remote'`);
      db.transaction(() => { for (const f of list) mark.run(f.dsn.diagnostic ?? f.dsn.status, queueId, f.row.rcpt); })();
    }
    for (const [queueId, list] of delayReports) {
      await this.o.bouncer.report(queueId, report(list), 'delay').catch((e) => this.o.log.warn(queueId, `cannot queue the delay DSN: ${(e as Error).message}`));
    }
    for (const [queueId, list] of relayedReports) {
      await this.o.bouncer.report(queueId, report(list), 'success').catch((e) => this.o.log.warn(queueId, `cannot queue the relay DSN: ${(e as Error).message}`));
    }
    if (files) await this.o.removeFiles(files);
    else await this.o.finish(queueIds);
  }
}

export type { MxResult };
