/**
 * Who may open a connection: per service, per client address, and for the whole process
 * (issue 9 item 6). One instance per running server; every listener asks it before a socket
 * gets a session, and gives the slot back when the socket closes.
 */

import { clientKey } from '../policy/ip.js';

/** One service's budget (config: max_connections, max_connections_per_address, max_connection_rate). */
export interface Budget {
  max: number;
  perAddress: number;
  /** New connections one address may open per minute. */
  perMinute: number;
}

export type Refusal = 'global' | 'service' | 'address' | 'rate';

export type Admission = { ok: true; release: () => void } | { ok: false; why: Refusal };

const MINUTE = 60_000;

interface Counter {
  open: number;
  /** Connections opened in the current minute, and when that minute started. */
  recent: number;
  since: number;
}

export class ConnectionLimits {
  private total = 0;
  private readonly services = new Map<string, number>();
  /** Key: service + " " + client key (an IPv4 address or an IPv6 /64, as for login throttling). */
  private readonly clients = new Map<string, Counter>();
  private lastSweep = 0;

  constructor(readonly globalMax: number, private readonly now: () => number = Date.now) {}

  get open(): number {
    return this.total;
  }

  /** Counts a new connection in, or says which limit it is over. */
  admit(service: string, budget: Budget, address: string): Admission {
    const t = this.now();
    this.sweep(t);
    const key = `${service} ${clientKey(address)}`;
    let c = this.clients.get(key);
    if (!c) this.clients.set(key, (c = { open: 0, recent: 0, since: t }));
    if (t - c.since >= MINUTE) {
      c.since = t;
      c.recent = 0;
    }
    // Refused attempts count towards the rate too: hammering does not reset the minute.
    c.recent++;
    if (this.total >= this.globalMax) return { ok: false, why: 'global' };
    const inService = this.services.get(service) ?? 0;
    if (inService >= budget.max) return { ok: false, why: 'service' };
    if (c.open >= budget.perAddress) return { ok: false, why: 'address' };
    if (c.recent > budget.perMinute) return { ok: false, why: 'rate' };
    c.open++;
    this.total++;
    this.services.set(service, inService + 1);
    let released = false;
    const counter = c;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        counter.open--;
        this.total--;
        this.services.set(service, (this.services.get(service) ?? 1) - 1);
      },
    };
  }

  /** Forgets addresses with nothing open and no attempt in the last minute. */
  private sweep(t: number): void {
    if (t - this.lastSweep < MINUTE) return;
    this.lastSweep = t;
    for (const [k, c] of this.clients) if (c.open === 0 && t - c.since >= MINUTE) this.clients.delete(k);
  }
}
