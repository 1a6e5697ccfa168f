import type { EventEmitter } from 'node:events';
import type { DB } from '../store/db.js';
import type { Statement } from 'better-sqlite3';
import type { SqliteStore } from '../store/sqlite.js';
import type { BlobStore } from '../store/blobs.js';
import type { Logger } from '../log/logger.js';
import type { AddressResolver, ExternalTarget, Resolution, Target } from '../delivery/resolve.js';
import type { ExternalDelivery, ExternalOutcome } from '../delivery/external.js';
import { QuotaExceededError } from '../store/types.js';
import type { Intake, MessageEnvelope } from './types.js';
import type { DsnRecipient } from './dsn.js';
import { Bouncer } from './bounce.js';
import { parseMessage } from '../mime/parse.js';

interface DueRow {
  queue_id: string;
  rcpt: string;
  orcpt: string | null;
  notify: string | null;
  attempts?: number;
  sender: string;
  envelope: string;
  blob_id: string;
  size: number;
  created: number;
}

/** A recipient that could not be delivered, on its way into a DSN. */
interface Failure {
  row: DueRow;
  dsn: DsnRecipient;
}

/** Hands remote recipients to outbound delivery; absent until outbound is configured. */
export interface RemoteTransport {
  /** Called after recipients of a queue entry were marked 'remote'. */
  kick(): void;
}

const BATCH = 500;

/**
 * Moves queued messages to their destinations (DESIGN.md "the way a message travels"):
 * resolves each recipient (aliases), appends to local mailboxes in one transaction per
 * batch with the idempotency key "queueId:user" (a redelivery after a crash is a no-op),
 * marks remote targets for outbound delivery, and bounces what cannot be delivered (S5).
 * A queue entry is removed only when no recipient is left to act on.
 */
export class QueueManager {
  private running = false;
  private again = false;
  private stopped = false;
  remote: RemoteTransport | null = null;
  /** S16/S19 |program and /file targets; absent: such targets bounce. */
  external: ExternalDelivery | null = null;
  readonly bouncer: Bouncer;
  /**
   * A temporary failure of a program or file delivery (sysexits EX_TEMPFAIL, a full disk) is
   * retried like a 4xx reply: after `initial` ms, doubling up to `max`, until the message is
   * `giveUp` ms old; then it bounces. Seconds in the config ([outbound] retry_*), ms here.
   */
  retry = { initial: 300_000, max: 14_400_000, giveUp: 432_000_000 };
  /** Wakes the queue run when the next deferred recipient is due. */
  private wake: NodeJS.Timeout | null = null;
  private readonly inboxStmt: Statement<[string], { id: number }>;
  private readonly junkStmt: Statement<[string], { id: number }>;
  private readonly stmts: { stat: Statement; deleteQueue: Statement; rcptDone: Statement; rcptRemote: Statement; left: Statement<[string], { n: number }>; del: Statement };

  constructor(
    private readonly db: DB,
    private readonly store: SqliteStore,
    private readonly blobs: BlobStore,
    private readonly resolver: AddressResolver,
    private readonly intake: Intake,
    private readonly log: Logger,
    private readonly events: EventEmitter,
    hostname: string,
  ) {
    this.bouncer = new Bouncer(db, blobs, intake, log, hostname);
    this.inboxStmt = db.prepare<[string], { id: number }>(
      `SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id WHERE u.address = ? AND m.name = 'INBOX'`);
    this.junkStmt = db.prepare<[string], { id: number }>(
      `SELECT m.id FROM mailboxes m JOIN users u ON u.id = m.user_id WHERE u.address = ? AND m.special_use = '\\Junk' ORDER BY m.id LIMIT 1`);
    this.stmts = {
      stat: db.prepare('INSERT INTO stats (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value'),
      deleteQueue: db.prepare('DELETE FROM queue WHERE id = ?'),
      rcptDone: db.prepare(`UPDATE queue_rcpt SET status = 'done', attempts = attempts + 1 WHERE queue_id = ? AND rcpt = ? AND status = 'pending'`),
      rcptRemote: db.prepare(`UPDATE queue_rcpt SET status = 'remote' WHERE queue_id = ? AND rcpt = ? AND status = 'pending'`),
      left: db.prepare<[string], { n: number }>(`SELECT count(*) AS n FROM queue_rcpt WHERE queue_id = ? AND status IN ('pending', 'remote')`),
      del: db.prepare('DELETE FROM queue WHERE id = ? RETURNING blob_id'),
    };
  }

  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => void this.loop());
  }

  stop(): void {
    this.stopped = true;
    if (this.wake) clearTimeout(this.wake);
    this.wake = null;
    if (this.mimeTimer) clearTimeout(this.mimeTimer);
    this.flushMime();
  }

  /** A timer for the earliest pending recipient not yet due (deferred deliveries, DSN retries). */
  private scheduleWake(): void {
    if (this.stopped) return;
    const next = this.db
      .prepare<[], { t: number | null }>(`SELECT min(next_attempt) AS t FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id WHERE r.status = 'pending' AND q.held = 0`)
      .get()?.t;
    if (this.wake) clearTimeout(this.wake);
    this.wake = null;
    if (next == null) return;
    this.wake = setTimeout(() => {
      this.wake = null;
      this.kick();
    }, Math.max(0, next - Date.now()) + 50);
    this.wake.unref();
  }

  private async loop(): Promise<void> {
    try {
      do {
        this.again = false;
        while (!this.stopped && (await this.runBatch()) === BATCH) { /* more waiting */ }
      } while (this.again && !this.stopped);
    } catch (e) {
      this.log.error(null, `queue run failed: ${(e as Error).stack ?? e}`);
      setTimeout(() => this.kick(), 5000).unref();
    } finally {
      this.running = false;
      try {
        this.scheduleWake();
      } catch (e) {
        this.log.error(null, `cannot schedule the next queue run: ${(e as Error).message}`);
      }
    }
  }

  /** Not cached: the CLI may delete and recreate a user while the server runs. */
  private inboxOf(user: string): number | null {
    return this.inboxStmt.get(user)?.id ?? null;
  }

  /** Where a message goes: INBOX, or the Junk folder (RFC 6154 \Junk) for a quarantined one (DMARC). */
  private folderOf(user: string, quarantine: boolean | undefined): number | null {
    return (quarantine ? this.junkStmt.get(user)?.id : undefined) ?? this.inboxOf(user);
  }


  /**
   * The fast path, run inside the transaction that records a new queue entry: when every
   * recipient resolves to local users, the message is appended to their INBOXes in that same
   * transaction and the queue entry is gone before the client hears 250. One commit instead of
   * three, and still all-or-nothing: either the entry or the deliveries are on disk.
   * Returns what to announce after the commit, or null to leave the entry to the queue run.
   */
  deliverAtCommit(queueId: string, envelope: MessageEnvelope, size: number): (() => void) | null {
    if (this.stopped) return null;
    const plan: { rcpt: string; user: string; mailboxId: number }[] = [];
    // Recipients that stay as they are and go out by SMTP (a user's submitted mail): marked
    // for the outbound scheduler in this same commit rather than by a later queue run.
    const remote: string[] = [];
    for (const r of envelope.recipients) {
      if (r.notify?.some((n) => n.toUpperCase() === 'SUCCESS')) return null; // needs a success DSN
      const res = this.resolver.resolveSync(r.address);
      if (res.problems.length || !res.targets.length || res.external.length) return null;
      for (const t of res.targets) {
        if (t.kind === 'remote') {
          if (t.address !== r.address || !this.remote) return null;
          remote.push(r.address);
          continue;
        }
        if (t.kind !== 'local') return null;
        const mailboxId = this.folderOf(t.user, envelope.quarantine);
        if (!mailboxId) return null;
        plan.push({ rcpt: r.address, user: t.user, mailboxId });
      }
    }
    const seen = new Set<string>();
    const done: { rcpt: string; user: string; mailboxId: number; uid: number }[] = [];
    try {
      // A savepoint of its own: if an append fails (over quota...), the queue entry stays.
      this.db.transaction(() => {
        for (const p of plan) {
          if (seen.has(p.user)) continue;
          seen.add(p.user);
          const rec = this.store.appendInTransaction({ mailboxId: p.mailboxId, blobId: queueId, size, internalDate: Date.now(), idempotencyKey: `${queueId}:${p.user}` });
          done.push({ ...p, uid: rec.uid });
        }
        if (done.length) {
          this.stmts.stat.run('delivered.local.msgs', done.length);
          this.stmts.stat.run('delivered.local.bytes', size * done.length);
        }
        const localOnly = new Set(plan.map((p) => p.rcpt));
        for (const r of remote) localOnly.delete(r);
        for (const r of localOnly) this.stmts.rcptDone.run(queueId, r);
        for (const r of remote) this.stmts.rcptRemote.run(queueId, r);
        if (!remote.length) this.stmts.deleteQueue.run(queueId);
      })();
    } catch {
      return null;
    }
    const created = Date.now();
    return () => {
      // After the commit, off the client's path: MIME parsed once, stored for IMAP FETCH.
      void this.indexMime([queueId]).catch(() => undefined);
      for (const d of done) {
        this.log.info(queueId, `to=<${d.user}>${d.user !== d.rcpt ? `, orig_to=<${d.rcpt}>` : ''}, relay=local, delay=${((Date.now() - created) / 1000).toFixed(2)}, status=sent (delivered to ${envelope.quarantine ? 'Junk' : 'INBOX'}, uid ${d.uid})`);
        this.events.emit('mailbox', d.mailboxId);
      }
      for (const r of remote) this.log.info(queueId, `to=<${r}>, status=queued for remote delivery`);
      if (remote.length) this.remote?.kick();
    };
  }

  private async runBatch(): Promise<number> {
    const rows = this.db
      .prepare<[number, number], DueRow>(
        `SELECT r.queue_id, r.rcpt, r.orcpt, r.notify, r.attempts, q.sender, q.envelope, q.blob_id, q.size, q.created
           FROM queue_rcpt r JOIN queue q ON q.id = r.queue_id
          WHERE r.status = 'pending' AND r.next_attempt <= ? AND q.held = 0
          ORDER BY q.created LIMIT ?`,
      )
      .all(Date.now(), BATCH);
    if (!rows.length) return 0;

    // Resolve outside the transaction (it may read files and the user table).
    const plans: { row: DueRow; targets: Target[]; inboxes: Map<string, number | null>; problems: Resolution['problems']; external: { target: ExternalTarget; outcome: ExternalOutcome }[] }[] = [];
    for (const row of rows) {
      const r = this.resolver.resolveSync(row.rcpt);
      const inboxes = new Map<string, number | null>();
      const quarantine = r.targets.some((t) => t.kind === 'local') && (JSON.parse(row.envelope) as MessageEnvelope).quarantine;
      for (const t of r.targets) if (t.kind === 'local') inboxes.set(t.user, this.folderOf(t.user, quarantine));
      plans.push({ row, targets: r.targets, inboxes, problems: r.problems, external: r.external.map((target) => ({ target, outcome: { ok: false, status: '5.3.0', detail: 'not attempted' } })) });
    }

    await this.indexMime(plans.filter((p) => p.targets.some((t) => t.kind === 'local')).map((p) => p.row.blob_id));
    // Programs and files run before the transaction that records the outcome (at least once:
    // a crash between the two runs them again).
    await Promise.all(plans.flatMap((p) => p.external.map(async (e) => {
      e.outcome = this.external
        ? await this.external.deliver(e.target, {
            sender: p.row.sender, recipient: p.row.rcpt,
            open: () => this.blobs.stream(p.row.blob_id), read: () => this.blobs.read(p.row.blob_id),
          })
        : { ok: false, status: '5.3.5', detail: 'program and file deliveries are not available' };
    })));

    const failures: Failure[] = [];
    const delivered: { row: DueRow; user: string; mailboxId: number; uid: number }[] = [];
    const remoteMarked: string[] = [];
    const externalDone: string[] = [];
    const touched = new Set<string>();
    const deferred: string[] = [];

    this.db.transaction(() => {
      const done = this.db.prepare(`UPDATE queue_rcpt SET status = 'done', attempts = attempts + 1 WHERE queue_id = ? AND rcpt = ?`);
      const addRemote = this.db.prepare(
        `INSERT INTO queue_rcpt (queue_id, rcpt, orcpt, notify, status) VALUES (?, ?, ?, ?, 'remote')
           ON CONFLICT (queue_id, rcpt) DO UPDATE SET status = 'remote' WHERE status = 'pending'`);
      const stat = this.db.prepare('INSERT INTO stats (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = value + excluded.value');
      const defer = this.db.prepare(`UPDATE queue_rcpt SET next_attempt = ?, attempts = attempts + 1, last_error = ? WHERE queue_id = ? AND rcpt = ? AND status = 'pending'`);
      for (const { row, targets, inboxes, problems, external } of plans) {
        touched.add(row.queue_id);
        let localOk = 0;
        const rowFailures: Failure[] = [];
        const temporary: { what: string; kind: string; outcome: ExternalOutcome }[] = [];
        for (const { target, outcome } of external) {
          const what = target.kind === 'program' ? `|${target.command}` : target.path;
          if (outcome.ok) {
            localOk++;
            externalDone.push(`${row.queue_id}\0to=<${what}>, orig_to=<${row.rcpt}>, relay=${target.kind}, status=sent (${outcome.detail})`);
          } else if (outcome.status.startsWith('4.')) {
            temporary.push({ what, kind: target.kind, outcome });
            rowFailures.push({ row, dsn: { address: target.owner, original: row.orcpt ?? row.rcpt, action: 'failed', status: outcome.status, diagnostic: `x-correo; ${what}: ${outcome.detail}` } });
          } else {
            rowFailures.push({ row, dsn: { address: target.owner, original: row.orcpt ?? row.rcpt, action: 'failed', status: outcome.status, diagnostic: `x-correo; ${what}: ${outcome.detail}` } });
          }
        }
        // A temporary failure defers the whole recipient, like a 4xx reply, as long as nothing
        // that cannot be repeated (another program or file, a hand-off to outbound) succeeded:
        // local appends are idempotent (key "queueId:user"), a second program run is not.
        const attempts = row.attempts ?? 0;
        if (temporary.length && localOk === 0 && !targets.some((t) => t.kind === 'remote') && Date.now() - row.created < this.retry.giveUp) {
          const delay = Math.min(this.retry.max, this.retry.initial * 2 ** Math.min(attempts, 20));
          const why = temporary.map((t) => `${t.what}: ${t.outcome.detail}`).join('; ');
          defer.run(Date.now() + delay, why, row.queue_id, row.rcpt);
          for (const t of temporary) {
            deferred.push(`${row.queue_id}\0to=<${t.what}>, orig_to=<${row.rcpt}>, relay=${t.kind}, delay=${((Date.now() - row.created) / 1000).toFixed(2)}, status=deferred (${t.outcome.status} ${t.outcome.detail}; retry in ${Math.round(delay / 1000)}s)`);
          }
          // Everything else about this recipient is decided again on the next attempt.
          continue;
        }
        for (const t of targets) {
          if (t.kind === 'remote') {
            if (t.address === row.rcpt) {
              this.db.prepare(`UPDATE queue_rcpt SET status = 'remote' WHERE queue_id = ? AND rcpt = ?`).run(row.queue_id, row.rcpt);
            } else {
              addRemote.run(row.queue_id, t.address, row.orcpt ?? row.rcpt, row.notify);
            }
            remoteMarked.push(`${row.queue_id}:${t.address}`);
            continue;
          }
          const mailboxId = inboxes.get(t.user);
          if (!mailboxId) {
            rowFailures.push({ row, dsn: { address: t.user, original: row.orcpt ?? row.rcpt, action: 'failed', status: '5.1.1', diagnostic: 'x-correo; user unknown (deleted after the message was accepted)' } });
            continue;
          }
          try {
            const rec = this.store.appendInTransaction({
              mailboxId, blobId: row.blob_id, size: row.size, internalDate: Date.now(),
              idempotencyKey: `${row.queue_id}:${t.user}`,
            });
            delivered.push({ row, user: t.user, mailboxId, uid: rec.uid });
            stat.run('delivered.local.msgs', 1);
            stat.run('delivered.local.bytes', row.size);
            localOk++;
          } catch (e) {
            const quota = e instanceof QuotaExceededError;
            rowFailures.push({ row, dsn: { address: t.user, original: row.orcpt ?? row.rcpt, action: 'failed', status: quota ? '5.2.2' : '4.3.0', diagnostic: `x-correo; ${(e as Error).message}` } });
          }
        }
        for (const p of problems) rowFailures.push({ row, dsn: { address: p.address, original: row.orcpt ?? (p.address !== row.rcpt ? row.rcpt : undefined), action: 'failed', status: p.status ?? p.reply?.enhanced ?? '5.1.1', diagnostic: `x-correo; ${p.text}` } });
        if (!targets.length && !problems.length && !external.length) {
          rowFailures.push({ row, dsn: { address: row.rcpt, action: 'failed', status: '5.1.1', diagnostic: 'x-correo; no deliverable destination' } });
        }
        // The recipient is finished here when something was delivered or handed on; failures
        // of some alias branches still get their DSN below.
        if (localOk || targets.some((t) => t.kind === 'remote' && t.address !== row.rcpt)) done.run(row.queue_id, row.rcpt);
        failures.push(...rowFailures);
      }
    })();

    for (const d of delivered) {
      this.log.info(d.row.queue_id, `to=<${d.user}>${d.user !== d.row.rcpt ? `, orig_to=<${d.row.rcpt}>` : ''}, relay=local, delay=${((Date.now() - d.row.created) / 1000).toFixed(2)}, status=sent (delivered to INBOX, uid ${d.uid})`);
      this.events.emit('mailbox', d.mailboxId);
    }
    for (const e of externalDone) this.log.info(e.split('\0')[0], e.split('\0')[1]);
    for (const e of deferred) this.log.info(e.split('\0')[0], e.split('\0')[1]);
    for (const r of remoteMarked) this.log.info(r.split(':')[0], `to=<${r.slice(r.indexOf(':') + 1)}>, status=queued for remote delivery`);
    if (remoteMarked.length) this.remote?.kick();

    await this.bounce(failures);
    await this.reportDelivered(delivered);
    await this.finish([...touched]);
    return rows.length;
  }

  /**
   * DESIGN.md: MIME is parsed once, at delivery; the tree is stored with the blob so that IMAP
   * FETCH of ENVELOPE/BODYSTRUCTURE reads no file and BODY[part] is a slice of one.
   */
  private async indexMime(blobIds: string[]): Promise<void> {
    const need = this.db.prepare<[string], { id: string }>('SELECT id FROM blobs WHERE id = ? AND mime IS NULL');
    for (const id of new Set(blobIds)) {
      if (!need.get(id)) continue;
      try {
        this.mimePending.push([JSON.stringify(parseMessage(await this.blobs.read(id))), id]);
      } catch (e) {
        // IMAP parses it on first use instead; delivery does not wait for it.
        this.log.warn(null, `cannot index MIME of blob ${id}: ${(e as Error).message}`);
      }
    }
    if (this.mimePending.length && !this.mimeTimer) {
      // One transaction for the trees of many messages: an UPDATE of its own per message
      // was a blocking commit (fsync) per message on the event loop.
      this.mimeTimer = setTimeout(() => this.flushMime(), 20);
      this.mimeTimer.unref();
    }
  }

  private mimePending: [string, string][] = [];
  private mimeTimer: NodeJS.Timeout | null = null;

  private flushMime(): void {
    this.mimeTimer = null;
    const batch = this.mimePending;
    this.mimePending = [];
    if (!batch.length || !this.db.open) return;
    try {
      const set = this.db.prepare('UPDATE blobs SET mime = ? WHERE id = ?');
      this.db.transaction(() => { for (const [json, id] of batch) set.run(json, id); })();
    } catch (e) {
      this.log.warn(null, `cannot store ${batch.length} MIME trees (IMAP parses them on first use): ${(e as Error).message}`);
    }
  }

  /** Sends one DSN per queue entry for its failed recipients, then marks them failed. */
  async bounce(failures: Failure[]): Promise<void> {
    const byQueue = new Map<string, Failure[]>();
    for (const f of failures) byQueue.set(f.row.queue_id, [...(byQueue.get(f.row.queue_id) ?? []), f]);
    for (const [queueId, list] of byQueue) {
      for (const f of list) this.log.info(queueId, `to=<${f.dsn.address}>${f.dsn.address !== f.row.rcpt ? `, orig_to=<${f.row.rcpt}>` : ''}, status=bounced (${f.dsn.diagnostic ?? f.dsn.status})`);
      try {
        await this.bouncer.report(queueId, list.map((f) => ({ rcpt: f.row.rcpt, notify: f.row.notify, dsn: f.dsn })), 'failure');
      } catch (e) {
        // Keep the recipients pending: the bounce is retried rather than lost.
        this.log.error(queueId, `cannot queue the DSN, will retry: ${(e as Error).message}`);
        this.db.prepare(`UPDATE queue_rcpt SET next_attempt = ? WHERE queue_id = ?`).run(Date.now() + 60_000, queueId);
        continue;
      }
      const mark = this.db.prepare(`UPDATE queue_rcpt SET status = 'failed', last_error = ? WHERE queue_id = ? AND rcpt = ? AND status = 'pending'`);
      this.db.transaction(() => { for (const f of list) mark.run(f.dsn.diagnostic ?? f.dsn.status, queueId, f.row.rcpt); })();
    }
  }

  /** RFC 3461 NOTIFY=SUCCESS: a "delivered" DSN for each local delivery that asked for one. */
  private async reportDelivered(delivered: { row: DueRow; user: string }[]): Promise<void> {
    const byQueue = new Map<string, { row: DueRow; user: string }[]>();
    for (const d of delivered) {
      if (!(d.row.notify ?? '').toUpperCase().split(',').includes('SUCCESS')) continue;
      byQueue.set(d.row.queue_id, [...(byQueue.get(d.row.queue_id) ?? []), d]);
    }
    for (const [queueId, list] of byQueue) {
      try {
        await this.bouncer.report(queueId, list.map((d) => ({
          rcpt: d.row.rcpt, notify: d.row.notify,
          dsn: { address: d.user, original: d.row.orcpt ?? d.row.rcpt, action: 'delivered', status: '2.0.0', diagnostic: 'x-correo; delivered to INBOX' },
        })), 'success');
      } catch (e) {
        // A success report is a courtesy; the delivery itself stands.
        this.log.warn(queueId, `cannot queue the success DSN: ${(e as Error).message}`);
      }
    }
  }

  /** Removes queue entries with nothing left to do, and their blob when no mailbox holds it. */
  async finish(queueIds: string[]): Promise<void> {
    const files = this.db.transaction(() => this.finishInTransaction(queueIds))();
    await this.store.removeFiles(files);
  }

  /**
   * finish() inside the caller's transaction, so a delivery's outcome and the removal of its
   * queue entry share one commit; returns the blob files to remove once that commit is done.
   */
  finishInTransaction(queueIds: string[]): string[] {
    const gone: string[] = [];
    for (const id of queueIds) {
      if (this.stmts.left.get(id)!.n === 0) {
        const r = this.stmts.del.get(id) as { blob_id: string } | undefined;
        if (r) gone.push(r.blob_id);
      }
    }
    return gone.length ? this.store.collectInTransaction(gone) : [];
  }

}
