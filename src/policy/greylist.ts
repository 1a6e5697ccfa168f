import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { addressBytes } from './ip.js';

/**
 * Greylisting (off by default): the first time a (client network, sender, recipient) triplet
 * is seen it gets a 4xx; a real MTA retries after `delay` seconds and is let through, and the
 * triplet is then remembered for `expire` seconds. A retry later than `retryWindow` starts over.
 * Clients are grouped by /24 (IPv4) or /64 (IPv6) since big senders retry from another
 * address of the same pool. State is kept in a JSON file so that a restart does not greylist
 * everyone again.
 */

export interface GreylistOptions {
  delay: number;
  retryWindow: number;
  expire: number;
  /** Where to keep the state; null: memory only. */
  file: string | null;
  now?: () => number;
}

interface Triplet {
  first: number;
  /** When it passed; 0 while still waiting. */
  passed: number;
  last: number;
}

export type GreyAnswer = { kind: 'pass'; known: boolean } | { kind: 'wait'; seconds: number };

export function clientNetwork(ip: string): string {
  const b = addressBytes(ip);
  if (!b) return ip;
  if (b.length === 4) return `${b.slice(0, 3).join('.')}.0/24`;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  return `${groups.join(':')}::/64`;
}

export class Greylist {
  private readonly triplets = new Map<string, Triplet>();
  private dirty = false;
  private readonly now: () => number;

  constructor(private readonly opts: GreylistOptions) {
    this.now = opts.now ?? (() => Date.now());
    if (opts.file) {
      try {
        const saved = JSON.parse(readFileSync(opts.file, 'utf8')) as Record<string, Triplet>;
        for (const [k, v] of Object.entries(saved)) this.triplets.set(k, v);
      } catch {
        // No state yet, or an unreadable file: start empty.
      }
    }
  }

  check(ip: string, sender: string, recipient: string): GreyAnswer {
    const t = this.now();
    const key = `${clientNetwork(ip)} ${sender.toLowerCase()} ${recipient.toLowerCase()}`;
    const e = this.triplets.get(key);
    this.dirty = true;
    if (e && e.passed && t - e.last < this.opts.expire * 1000) {
      e.last = t;
      return { kind: 'pass', known: true };
    }
    if (!e || (e.passed && t - e.last >= this.opts.expire * 1000) || (!e.passed && t - e.first > (this.opts.delay + this.opts.retryWindow) * 1000)) {
      this.triplets.set(key, { first: t, passed: 0, last: t });
      return { kind: 'wait', seconds: this.opts.delay };
    }
    const waited = (t - e.first) / 1000;
    if (waited < this.opts.delay) {
      e.last = t;
      return { kind: 'wait', seconds: Math.ceil(this.opts.delay - waited) };
    }
    e.passed = t;
    e.last = t;
    return { kind: 'pass', known: false };
  }

  /** Drops expired triplets and writes the state file if anything changed. */
  save(): void {
    const t = this.now();
    for (const [k, e] of this.triplets) {
      const life = e.passed ? this.opts.expire : this.opts.delay + this.opts.retryWindow;
      if (t - (e.passed ? e.last : e.first) > life * 1000) this.triplets.delete(k);
    }
    if (!this.dirty || !this.opts.file) return;
    this.dirty = false;
    const tmp = `${this.opts.file}.tmp`;
    writeFileSync(tmp, JSON.stringify(Object.fromEntries(this.triplets)));
    renameSync(tmp, this.opts.file);
  }

  get size(): number {
    return this.triplets.size;
  }
}
