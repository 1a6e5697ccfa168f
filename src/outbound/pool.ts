import { SmtpConnection, type ClientOptions } from './client.js';

/**
 * Idle SMTP connections kept for a few seconds after a transaction, per address, port and
 * session settings (TLS mode, AUTH user), so that a burst of messages to one destination
 * pays for TCP, TLS and EHLO once (Postfix's connection cache does the same).
 */
const IDLE_MS = 5000;
const MAX_TRANSACTIONS = 100;

interface Idle {
  conn: SmtpConnection;
  timer: NodeJS.Timeout;
}

export class ConnectionPool {
  private idle = new Map<string, Idle[]>();
  private closed = false;

  private key(o: ClientOptions): string {
    return `${o.address}|${o.port}|${o.tls}|${o.tlsVerify}|${o.auth?.user ?? ''}`;
  }

  /** A reusable idle connection, or a new one. */
  async get(o: ClientOptions): Promise<SmtpConnection> {
    const list = this.idle.get(this.key(o));
    while (list?.length) {
      const i = list.pop()!;
      clearTimeout(i.timer);
      if (i.conn.usable) return i.conn;
      i.conn.close();
    }
    return SmtpConnection.open(o);
  }

  /** Hands a connection back after a transaction: kept when it is healthy, else closed. */
  release(o: ClientOptions, conn: SmtpConnection): void {
    if (this.closed || !conn.usable || conn.transactions >= MAX_TRANSACTIONS) {
      void conn.quit();
      return;
    }
    const k = this.key(o);
    const list = this.idle.get(k) ?? [];
    const entry: Idle = {
      conn,
      timer: setTimeout(() => {
        const l = this.idle.get(k);
        const at = l?.indexOf(entry) ?? -1;
        if (l && at >= 0) l.splice(at, 1);
        if (l && !l.length) this.idle.delete(k);
        void conn.quit();
      }, IDLE_MS),
    };
    entry.timer.unref();
    list.push(entry);
    this.idle.set(k, list);
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const i of all) clearTimeout(i.timer);
    await Promise.all(all.map((i) => i.conn.quit()));
  }
}
