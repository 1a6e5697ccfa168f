import pg from 'pg';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { ChangeNotifier, QueueName, QueueSignal } from '../notify.js';

/** Channels: mailbox changes (ids), queue wake-ups, user list changes. */
const CHANNELS = ['correo_mailbox', 'correo_queue', 'correo_users'] as const;
type Channel = (typeof CHANNELS)[number];
/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7000;

/**
 * LISTEN/NOTIFY between the nodes of one database (RFC 9051 7.4.1 IDLE on node B sees a
 * delivery through node A). Everything published here is emitted in this process at once and
 * sent to the other nodes, coalesced per turn of the event loop; each payload starts with this
 * process's tag, so a node ignores its own echo. One connection, kept for LISTEN, reconnects
 * by itself after an outage and then says so (`onReconnect`), since notifications sent while it
 * was away are lost: listeners re-read what they cache.
 */
export class PgListener {
  readonly tag = randomBytes(6).toString('hex');
  readonly events = new EventEmitter();
  private client: pg.Client | null = null;
  private closed = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | null = null;
  private readonly outbox = new Map<Channel, Set<string>>();
  private flushing = false;

  constructor(private readonly config: pg.ClientConfig, private readonly pool: pg.Pool) {
    this.events.setMaxListeners(0);
  }

  /** Connects; the first failure is thrown (the store does not open without its database). */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const c = new pg.Client(this.config);
    c.on('error', () => undefined);
    c.on('notification', (n) => this.received(n.channel as Channel, n.payload ?? ''));
    c.on('end', () => {
      if (this.client !== c) return;
      this.client = null;
      this.events.emit('down');
      this.retry();
    });
    try {
      await c.connect();
      await c.query(CHANNELS.map((ch) => `LISTEN ${ch}`).join('; '));
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    if (this.closed) return void (await c.end().catch(() => undefined));
    this.client = c;
    this.retryMs = 100;
  }

  private retry(): void {
    if (this.closed || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect().then(() => this.events.emit('reconnect'), () => {
        this.retryMs = Math.min(this.retryMs * 2, 5000);
        this.retry();
      });
    }, this.retryMs);
    this.timer.unref();
  }

  get connected(): boolean {
    return this.client !== null;
  }

  private received(channel: Channel, payload: string): void {
    const sp = payload.indexOf(' ');
    if (sp < 0 || payload.slice(0, sp) === this.tag) return;
    for (const item of payload.slice(sp + 1).split(',')) if (item) this.events.emit(channel, item);
  }

  /** Emits here now; sends to the other nodes with the others of this turn. */
  publish(channel: Channel, item: string): void {
    this.events.emit(channel, item);
    let set = this.outbox.get(channel);
    if (!set) this.outbox.set(channel, (set = new Set()));
    set.add(item);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flush());
    }
  }

  private async flush(): Promise<void> {
    this.flushing = false;
    const batches: [Channel, string][] = [];
    for (const [channel, items] of this.outbox) {
      let cur = '';
      for (const it of items) {
        if (cur.length + it.length > MAX_PAYLOAD) {
          batches.push([channel, cur]);
          cur = '';
        }
        cur += (cur ? ',' : '') + it;
      }
      if (cur) batches.push([channel, cur]);
    }
    this.outbox.clear();
    if (this.closed || !batches.length) return;
    // Lost while the database is away: the other nodes re-read after their reconnect.
    await this.pool.query(`SELECT ${batches.map((_, i) => `pg_notify($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`,
      batches.flatMap(([ch, items]) => [ch, `${this.tag} ${items}`])).catch(() => undefined);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    const c = this.client;
    this.client = null;
    await c?.end().catch(() => undefined);
  }
}

export class PgNotifier implements ChangeNotifier {
  constructor(private readonly l: PgListener) {}

  publish(mailboxId: number): void {
    this.l.publish('correo_mailbox', String(mailboxId));
  }

  subscribe(listener: (mailboxId: number) => void): () => void {
    const f = (item: string) => listener(Number(item));
    this.l.events.on('correo_mailbox', f);
    return () => this.l.events.off('correo_mailbox', f);
  }
}

export class PgQueueSignal implements QueueSignal {
  constructor(private readonly l: PgListener) {}

  wake(queue: QueueName): void {
    this.l.publish('correo_queue', queue);
  }

  onWake(queue: QueueName, listener: () => void): () => void {
    const f = (item: string) => {
      if (item === queue) listener();
    };
    this.l.events.on('correo_queue', f);
    return () => this.l.events.off('correo_queue', f);
  }
}
