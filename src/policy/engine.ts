import { join } from 'node:path';
import type { Config } from '../config/types.js';
import type { Resolver } from '../dns/resolver.js';
import type { Logger } from '../log/logger.js';
import type { Maps } from '../maps/index.js';
import type { Recipients } from '../delivery/recipients.js';
import { PolicyDns } from './dns.js';
import { Greylist } from './greylist.js';
import { RateCounter } from './ratelimit.js';
import { PolicySession, type PolicyPeer, type Service } from './session.js';

/**
 * The inbound policy of the SMTP front ends (S17, S25, S26, S28, sender authentication, rate
 * limits, greylisting): built once per server, it owns what lives longer than a connection
 * (the maps, DNS caches, rate counters, the greylist) and opens a PolicySession per connection,
 * which the SMTP session calls at each stage.
 */
export interface PolicyDeps {
  config: Config;
  maps: Maps;
  /** RCPT-time existence and relay checks (delivery/local-recipients.ts). */
  recipients: Recipients & { isLocalDomain(domain: string): boolean };
  dns: Resolver;
  log: Logger;
  /** Injected by tests of time-dependent parts. */
  now?: () => number;
}

export class Policy {
  readonly config: Config;
  readonly maps: Maps;
  readonly recipients: PolicyDeps['recipients'];
  readonly log: Logger;
  /** DNS lists get their own deadline (policy.dnsbl_timeout). */
  readonly listDns: PolicyDns;
  readonly authDns: PolicyDns;
  readonly connections: RateCounter;
  readonly messages: RateCounter;
  readonly rcpts: RateCounter;
  readonly greylist: Greylist | null;
  private readonly timer: NodeJS.Timeout | null = null;

  constructor(deps: PolicyDeps) {
    this.config = deps.config;
    this.maps = deps.maps;
    this.recipients = deps.recipients;
    this.log = deps.log;
    const p = deps.config.policy;
    this.listDns = new PolicyDns(deps.dns, p.dnsbl_timeout);
    this.authDns = new PolicyDns(deps.dns, Math.max(deps.config.dns.timeout * 2, 1000));
    const windowMs = p.rate_window * 1000;
    this.connections = new RateCounter(windowMs, deps.now);
    this.messages = new RateCounter(windowMs, deps.now);
    this.rcpts = new RateCounter(windowMs, deps.now);
    this.greylist = p.greylist
      ? new Greylist({
          delay: p.greylist_delay, retryWindow: p.greylist_retry_window, expire: p.greylist_expire,
          file: join(deps.config.data_dir, 'greylist.json'), now: deps.now,
        })
      : null;
    if (this.greylist) {
      this.timer = setInterval(() => this.saveGreylist(), 60_000);
      this.timer.unref();
    }
  }

  session(peer: PolicyPeer, service: Service = 'smtp'): PolicySession {
    return new PolicySession(this, peer, service);
  }

  /** This policy with sessions of another service (the LMTP server reuses the SMTP session). */
  forService(service: Service): Policy {
    const view = Object.create(this) as Policy;
    view.session = (peer: PolicyPeer) => this.session(peer, service);
    return view;
  }

  /** S26 relay_based_on_MX: one of the domain's MX hosts is this server. */
  async mxPointsAtUs(domain: string): Promise<boolean> {
    try {
      const mx = (await this.listDns.lookup(domain, 'MX')) as { exchange: string }[];
      const names = this.maps.localHostNames.get();
      return mx.some((m) => {
        const host = m.exchange.toLowerCase().replace(/\.$/, '');
        return host === this.config.hostname || names.has(host);
      });
    } catch {
      return false;
    }
  }

  private saveGreylist(): void {
    try {
      this.greylist?.save();
    } catch (e) {
      this.log.warn(null, `greylist: cannot save state: ${(e as Error).message}`);
    }
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.saveGreylist();
  }
}
