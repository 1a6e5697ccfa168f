import type { BlobStore } from '../store/blobs.js';
import type { QueueStore, DueRecipient } from '../store/queue.js';
import type { MailboxStore } from '../store/mailboxes.js';
import type { ChangeNotifier, QueueSignal } from '../store/notify.js';
import type { AppendOutcome, BatchPart, LocalAppend, WriteOp } from '../store/batch.js';
import type { Logger } from '../log/logger.js';
import type { AddressResolver, ExternalTarget, Resolution, Target } from '../delivery/resolve.js';
import type { ExternalDelivery, ExternalOutcome } from '../delivery/external.js';
import { QuotaExceededError } from '../store/types.js';
import type { Intake, MessageEnvelope } from './types.js';
import type { DsnRecipient } from './dsn.js';
import type { MimeIndexer } from './mime-index.js';
import { Bouncer } from './bounce.js';
import { BackgroundWorker } from './worker.js';
import type { SievePlan, SieveRunner } from './sieve-plan.js';
import { nextAttempt, type RetrySchedule } from './retry.js';

/** A recipient that could not be delivered, on its way into a DSN. */
interface Failure {
  row: DueRecipient;
  dsn: DsnRecipient;
}

/** What one due recipient resolves to, and what its programs and files did. */
interface Plan {
  row: DueRecipient;
  targets: Target[];
  folders: Map<string, number | null>;
  problems: Resolution['problems'];
  external: { target: ExternalTarget; outcome: ExternalOutcome }[];
  /** Users whose Sieve scripts ran, with what they decided. */
  sieve: Map<string, SievePlan>;
}

/** What the queue run decided for one recipient: its part of the batch, and what to say after. */
interface Decision {
  plan: Plan;
  part: BatchPart | null;
  /** Index of the queue.deliverLocal op in the part, and the appends it makes. */
  local: { index: number; appends: LocalAppend[]; folders: string[] } | null;
  failures: Failure[];
  logs: [string, string][];
  remote: boolean;
}

const BATCH = 500;

export interface QueueManagerOptions {
  queue: QueueStore;
  mailboxes: MailboxStore;
  blobs: BlobStore;
  changes: ChangeNotifier;
  signal: QueueSignal;
  resolver: AddressResolver;
  /** Where DSNs are queued. */
  intake: Intake;
  mime: MimeIndexer;
  log: Logger;
  hostname: string;
  /** S16/S19 |program and /file targets; null: such targets bounce. */
  external: ExternalDelivery | null;
  /**
   * A temporary failure of a program or file delivery (sysexits EX_TEMPFAIL, a full disk) is
   * retried like a 4xx reply ([outbound] retry_*), until the message is `giveUp` old.
   */
  retry: RetrySchedule;
  /** Sieve at final delivery (src/queue/sieve-plan.ts); null: plain delivery to INBOX. */
  sieve?: SieveRunner | null;
  /**
   * How long a claimed recipient stays with this node (store/queue.ts claims): longer than a
   * run of a batch can take; a node that dies leaves its recipients to the others after it.
   */
  leaseMs?: number;
}

/** Default lease of a claimed recipient ([store] lease). */
export const DEFAULT_LEASE_MS = 300_000;

/**
 * Moves queued messages to their destinations (DESIGN.md "the way a message travels"):
 * resolves each recipient (aliases), appends to local mailboxes with the idempotency key
 * "queueId:user" (a redelivery after a crash is a no-op), marks remote targets for outbound
 * delivery, and bounces what cannot be delivered (S5). One write batch per run of up to 500
 * recipients. A queue entry is removed only when no recipient is left to act on.
 */
export class QueueManager {
  readonly bouncer: Bouncer;
  private readonly worker: BackgroundWorker;

  constructor(private readonly o: QueueManagerOptions) {
    this.bouncer = new Bouncer(o.queue, o.blobs, o.intake, o.log, o.hostname);
    this.worker = new BackgroundWorker('queue run', () => this.runOnce(), o.log);
    o.signal.onWake('local', () => this.kick());
  }

  kick(): void {
    this.worker.kick();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
    await this.o.mime.stop();
  }

  /** Runs batches while there are due recipients; then sleeps until the next deferred one. */
  private async runOnce(): Promise<number | null> {
    while ((await this.runBatch()) === BATCH) { /* more waiting */ }
    const next = await this.o.queue.nextAttempt('pending', Date.now());
    return next === null ? null : next + 50;
  }

  private async runBatch(): Promise<number> {
    // Claimed, not just read: on several nodes, each due recipient goes to one of them.
    const rows = await this.o.queue.claimPending(Date.now(), BATCH, this.o.leaseMs ?? DEFAULT_LEASE_MS);
    if (!rows.length) return 0;
    const plans = await Promise.all(rows.map((row) => this.plan(row)));
    await this.o.mime.indexNow(plans.filter((p) => p.targets.some((t) => t.kind === 'local')).map((p) => p.row.blobId));
    await this.runExternal(plans);
    const decisions = plans.map((p) => this.decide(p));
    const parts = decisions.filter((d) => d.part);
    const result = parts.length ? await this.o.queue.commit({ durability: 'full', parts: parts.map((d) => d.part!) }) : { parts: [] };
    const delivered: { row: DueRecipient; user: string }[] = [];
    const failures: Failure[] = [];
    const unrecorded: DueRecipient[] = [];
    let remote = false;
    parts.forEach((d, i) => {
      const r = result.parts[i];
      if (!r.ok) {
        this.o.log.error(d.plan.row.queueId, `to=<${d.plan.row.rcpt}>: cannot record the delivery, will retry: ${r.error.message}`);
        unrecorded.push(d.plan.row);
        for (const sp of d.plan.sieve.values()) void this.o.sieve?.dropStaged(sp);
        return;
      }
      // Sieve's replies and redirects are queue entries now: the next run routes them; edited
      // copies (editheader) are new bodies whose MIME is parsed once, like any delivery's.
      if ([...d.plan.sieve.values()].some((sp) => sp.outcome.outgoing.length)) this.o.signal.wake('local');
      const edited = [...d.plan.sieve.values()].flatMap((sp) => sp.folders.flatMap((f) => (f.body ? [f.body] : [])));
      if (edited.length) this.o.mime.index(edited.map((b) => b.id), edited.map((b) => b.size));
      delivered.push(...this.announce(d, r.results));
      failures.push(...d.failures, ...this.appendFailures(d, r.results));
      remote ||= d.remote;
    });
    for (const d of decisions) {
      if (d.part) continue;
      // Nothing to commit (every branch failed): the log still says why, with the details
      // the bounce leaves out.
      for (const [id, line] of d.logs) this.o.log.info(id, line);
      failures.push(...d.failures);
    }
    // Their lease ends now: the next run tries them again, as before claims.
    if (unrecorded.length) await this.o.queue.renewLeases(unrecorded, 0).catch(() => undefined);
    if (remote) this.o.signal.wake('remote');
    // DSNs first (they read the entries), then the failed marks and the removal of finished
    // entries in one commit.
    const ops = await this.bounce(failures);
    await this.reportDelivered(delivered);
    ops.push({ op: 'queue.finish', queueIds: rows.map((r) => r.queueId) });
    await this.o.queue.commit({ durability: 'full', parts: [{ ops }] });
    return rows.length;
  }

  /** Resolution happens outside the commit (it may read files and the user table). */
  private async plan(row: DueRecipient): Promise<Plan> {
    const r = this.o.resolver.resolveSync(row.rcpt);
    const folders = new Map<string, number | null>();
    const quarantine = r.targets.some((t) => t.kind === 'local') && !!(JSON.parse(row.envelope) as MessageEnvelope).quarantine;
    const sieve = new Map<string, SievePlan>();
    for (const t of r.targets) {
      if (t.kind !== 'local') continue;
      folders.set(t.user, await this.o.mailboxes.deliveryMailbox(t.user, quarantine));
      const sp = this.o.sieve ? await this.o.sieve.plan(row, t.user, folders.get(t.user) ?? null) : null;
      if (sp) sieve.set(t.user, sp);
    }
    return { row, targets: r.targets, folders, problems: r.problems, sieve, external: r.external.map((target) => ({ target, outcome: { ok: false, status: '5.3.0', detail: 'not attempted', text: 'not attempted' } })) };
  }

  /** Programs and files run before the commit that records them (at least once: a crash in between runs them again). */
  private async runExternal(plans: Plan[]): Promise<void> {
    await Promise.all(plans.flatMap((p) => p.external.map(async (e) => {
      e.outcome = this.o.external
        ? await this.o.external.deliver(e.target, {
            sender: p.row.sender, recipient: p.row.rcpt,
            open: () => this.o.blobs.stream(p.row.blobId), read: () => this.o.blobs.read(p.row.blobId),
          })
        : { ok: false, status: '5.3.5', detail: 'program and file deliveries are not available', text: 'delivery refused by the local configuration' };
    })));
  }

  private decide(plan: Plan): Decision {
    const { row, targets, external } = plan;
    const d: Decision = { plan, part: null, local: null, failures: [], logs: [], remote: false };
    const orig = row.orcpt ?? row.rcpt;
    const fail = (address: string, status: string, diagnostic: string, original: string | undefined) =>
      d.failures.push({ row, dsn: { address, original, action: 'failed', status, diagnostic } });
    let externalOk = 0;
    const temporary: { what: string; kind: string; outcome: ExternalOutcome }[] = [];
    for (const { target, outcome } of external) {
      const what = target.kind === 'program' ? `|${target.command}` : target.path;
      if (outcome.ok) {
        externalOk++;
        d.logs.push([row.queueId, `to=<${what}>, orig_to=<${row.rcpt}>, relay=${target.kind}, status=sent (${outcome.detail})`]);
        continue;
      }
      if (outcome.status.startsWith('4.')) temporary.push({ what, kind: target.kind, outcome });
      // The sender reads the generic text; paths and settings go to the log (issue 9 item 12).
      else d.logs.push([row.queueId, `to=<${what}>, orig_to=<${row.rcpt}>, relay=${target.kind}, status=bounced (${outcome.status} ${outcome.detail})`]);
      fail(target.owner, outcome.status, `x-correo; ${target.kind}: ${outcome.text}`, orig);
    }
    // A temporary failure defers the whole recipient, like a 4xx reply, as long as nothing
    // that cannot be repeated (another program or file, a hand-off to outbound) succeeded:
    // local appends are idempotent (key "queueId:user"), a second program run is not.
    if (temporary.length && externalOk === 0 && !targets.some((t) => t.kind === 'remote') && Date.now() - row.created < this.o.retry.giveUp) {
      return this.defer(d, temporary);
    }
    const ops: WriteOp[] = [];
    const appends: LocalAppend[] = [];
    const names: string[] = [];
    let sieveDone = false;
    for (const t of targets) {
      if (t.kind === 'remote') {
        ops.push(t.address === row.rcpt
          ? { op: 'rcpt.status', queueId: row.queueId, rcpt: row.rcpt, status: 'remote', from: null }
          : { op: 'rcpt.add', queueId: row.queueId, rcpt: t.address, orcpt: row.orcpt ?? row.rcpt, notify: row.notify, status: 'remote', upgradeFrom: 'pending' });
        d.logs.push([row.queueId, `to=<${t.address}>, status=queued for remote delivery`]);
        d.remote = true;
        continue;
      }
      const mailboxId = plan.folders.get(t.user);
      if (!mailboxId) {
        fail(t.user, '5.1.1', 'x-correo; user unknown (deleted after the message was accepted)', orig);
        continue;
      }
      const sp = plan.sieve.get(t.user);
      if (!sp) {
        appends.push({ user: t.user, mailboxId, blobId: row.blobId, size: row.size, internalDate: Date.now(), idempotencyKey: `${row.queueId}:${t.user}` });
        names.push('INBOX');
        continue;
      }
      const s = this.o.sieve!.ops(row, t.user, sp);
      for (const line of sp.outcome.logs) d.logs.push([row.queueId, `to=<${t.user}>: ${line}`]);
      // RFC 5429 2.1: reject is a non-delivery report to the sender, through the bounce path.
      if (s.reject !== null) fail(t.user, '5.7.1', `x-correo; rejected by the recipient's Sieve filter: ${s.reject.replace(/\s+/g, ' ').slice(0, 500)}`, orig);
      for (const a of s.appends) {
        const { folder, ...append } = a;
        appends.push(append);
        names.push(folder);
      }
      ops.push(...s.ops);
      sieveDone ||= s.handled && s.reject === null;
    }
    for (const p of plan.problems) fail(p.address, p.status ?? p.reply?.enhanced ?? '5.1.1', `x-correo; ${p.text}`, row.orcpt ?? (p.address !== row.rcpt ? row.rcpt : undefined));
    if (!targets.length && !plan.problems.length && !external.length) fail(row.rcpt, '5.1.1', 'x-correo; no deliverable destination', undefined);
    // The recipient is finished when something was delivered or handed on; failures of some
    // alias branches still get their DSN.
    const doneAnyway = externalOk > 0 || sieveDone || targets.some((t) => t.kind === 'remote' && t.address !== row.rcpt);
    if (appends.length || doneAnyway) {
      d.local = { index: ops.length, appends, folders: names };
      ops.push({ op: 'queue.deliverLocal', queueId: row.queueId, rcpt: row.rcpt, appends, doneAnyway });
    }
    if (ops.length) d.part = { ops, mayFail: true };
    return d;
  }

  private defer(d: Decision, temporary: { what: string; kind: string; outcome: ExternalOutcome }[]): Decision {
    const row = d.plan.row;
    const now = Date.now();
    const next = nextAttempt(this.o.retry, row.attempts + 1, row.created, now);
    const why = temporary.map((t) => `${t.what}: ${t.outcome.detail}`).join('; ');
    d.part = { ops: [{ op: 'rcpt.defer', queueId: row.queueId, rcpt: row.rcpt, status: 'pending', next, lastError: why }], mayFail: true };
    for (const t of temporary) {
      d.logs.push([row.queueId, `to=<${t.what}>, orig_to=<${row.rcpt}>, relay=${t.kind}, delay=${((now - row.created) / 1000).toFixed(2)}, status=deferred (${t.outcome.status} ${t.outcome.detail}; retry in ${Math.round((next - now) / 1000)}s)`]);
    }
    // Everything else about this recipient is decided again on the next attempt.
    d.failures = [];
    return d;
  }

  /** After the commit: the log lines and IDLE notifications of what was delivered. */
  private announce(d: Decision, results: unknown[]): { row: DueRecipient; user: string }[] {
    const row = d.plan.row;
    for (const [id, line] of d.logs) this.o.log.info(id, line);
    if (!d.local) return [];
    const outcomes = results[d.local.index] as AppendOutcome[];
    const out: { row: DueRecipient; user: string }[] = [];
    d.local.appends.forEach((a, i) => {
      const o = outcomes[i];
      if (!o.ok) return;
      this.o.log.info(row.queueId, `to=<${a.user}>${a.user !== row.rcpt ? `, orig_to=<${row.rcpt}>` : ''}, relay=local, delay=${((Date.now() - row.created) / 1000).toFixed(2)}, status=sent (delivered to ${d.local!.folders[i]}, uid ${o.record.uid})`);
      this.o.changes.publish(a.mailboxId);
      out.push({ row, user: a.user });
    });
    return out;
  }

  private appendFailures(d: Decision, results: unknown[]): Failure[] {
    if (!d.local) return [];
    const outcomes = results[d.local.index] as AppendOutcome[];
    return d.local.appends.flatMap((a, i): Failure[] => {
      const o = outcomes[i];
      if (o.ok) return [];
      const quota = o.error instanceof QuotaExceededError;
      return [{ row: d.plan.row, dsn: { address: a.user, original: d.plan.row.orcpt ?? d.plan.row.rcpt, action: 'failed', status: quota ? '5.2.2' : '4.3.0', diagnostic: `x-correo; ${o.error.message}` } }];
    });
  }

  /** Sends one DSN per queue entry for its failed recipients; returns the ops that mark them failed. */
  private async bounce(failures: Failure[]): Promise<WriteOp[]> {
    const byQueue = new Map<string, Failure[]>();
    for (const f of failures) byQueue.set(f.row.queueId, [...(byQueue.get(f.row.queueId) ?? []), f]);
    const ops: WriteOp[] = [];
    for (const [queueId, list] of byQueue) {
      for (const f of list) this.o.log.info(queueId, `to=<${f.dsn.address}>${f.dsn.address !== f.row.rcpt ? `, orig_to=<${f.row.rcpt}>` : ''}, status=bounced (${f.dsn.diagnostic ?? f.dsn.status})`);
      try {
        await this.bouncer.report(queueId, list.map((f) => ({ rcpt: f.row.rcpt, notify: f.row.notify, dsn: f.dsn })), 'failure');
      } catch (e) {
        // Keep the recipients pending: the bounce is retried rather than lost.
        this.o.log.error(queueId, `cannot queue the DSN, will retry: ${(e as Error).message}`);
        ops.push({ op: 'rcpt.retryAt', queueId, rcpt: null, status: ['pending'], next: Date.now() + 60_000 });
        continue;
      }
      for (const f of list) ops.push({ op: 'rcpt.status', queueId, rcpt: f.row.rcpt, status: 'failed', from: ['pending'], lastError: f.dsn.diagnostic ?? f.dsn.status });
    }
    return ops;
  }

  /** RFC 3461 NOTIFY=SUCCESS: a "delivered" DSN for each local delivery that asked for one. */
  private async reportDelivered(delivered: { row: DueRecipient; user: string }[]): Promise<void> {
    const byQueue = new Map<string, { row: DueRecipient; user: string }[]>();
    for (const d of delivered) {
      if (!(d.row.notify ?? '').toUpperCase().split(',').includes('SUCCESS')) continue;
      byQueue.set(d.row.queueId, [...(byQueue.get(d.row.queueId) ?? []), d]);
    }
    for (const [queueId, list] of byQueue) {
      try {
        await this.bouncer.report(queueId, list.map((d) => ({
          rcpt: d.row.rcpt, notify: d.row.notify,
          dsn: { address: d.user, original: d.row.orcpt ?? d.row.rcpt, action: 'delivered', status: '2.0.0', diagnostic: 'x-correo; delivered to INBOX' },
        })), 'success');
      } catch (e) {
        // A success report is a courtesy; the delivery itself stands.
        this.o.log.warn(queueId, `cannot queue the success DSN: ${(e as Error).message}`);
      }
    }
  }

}
