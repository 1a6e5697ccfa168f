import { PassThrough } from 'node:stream';
import { authenticate, type AuthenticateResult } from 'mailauth';
import type { AuthChecksConfig, DmarcAction } from '../config/types.js';
import type { LookupFn } from './dns.js';

/**
 * SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC (RFC 8617) on one inbound
 * message, by mailauth 4.x, with every DNS query through our resolver. The message is fed
 * to the verifier as it arrives (nothing buffered here); the results and the
 * Authentication-Results header (RFC 8601) are ready once the end of DATA has been read.
 */

export interface SenderAuthInput {
  ip: string;
  helo: string;
  /** MAIL FROM; "" is the null sender (SPF then checks the HELO name, RFC 7208 2.4). */
  sender: string;
  /** Our host name: the authserv-id of the Authentication-Results header (RFC 8601 2.5). */
  hostname: string;
}

export interface SenderAuthResult {
  /** Received-SPF and Authentication-Results, CRLF-terminated, ready to be added. */
  headers: string;
  spf: string;
  dkim: string[];
  arc: string;
  dmarc: { result: string; domain: string; policy: string } | null;
  /** What the DMARC policy (and the config) asks us to do with the message. */
  action: DmarcAction;
  /** Why, for the log and the ledger. */
  reason: string;
  /** The header From domain (for the reply text). */
  fromDomain: string | null;
}

/**
 * RFC 7489 6.6.2 and 6.6.4: the domain's policy applies only when DMARC fails, to "pct" percent
 * of the messages; a message left out of the sample gets the next milder policy. The config
 * may override a domain's policy or turn reject/quarantine off altogether.
 */
export function dmarcAction(
  dmarc: { result: string; domain: string; policy: string; pct?: number } | null,
  fromDomain: string | null,
  cfg: Pick<AuthChecksConfig, 'dmarc_reject' | 'dmarc_quarantine' | 'domains'>,
  random: () => number = Math.random,
): { action: DmarcAction; reason: string } {
  if (!dmarc || dmarc.result !== 'fail') return { action: 'none', reason: `dmarc=${dmarc?.result ?? 'none'}` };
  const override = (fromDomain && cfg.domains[fromDomain.toLowerCase()]) || cfg.domains[dmarc.domain.toLowerCase()];
  if (override) return { action: override, reason: `dmarc=fail, local policy for ${fromDomain ?? dmarc.domain}: ${override}` };
  let policy = (dmarc.policy || 'none').toLowerCase() as DmarcAction;
  const pct = dmarc.pct ?? 100;
  if (pct < 100 && random() * 100 >= pct) {
    const milder = policy === 'reject' ? 'quarantine' : 'none';
    const reason = `dmarc=fail p=${policy} pct=${pct}: not in the sample, ${milder}`;
    policy = milder;
    return { action: applyConfig(policy, cfg), reason };
  }
  return { action: applyConfig(policy, cfg), reason: `dmarc=fail p=${policy}${applyConfig(policy, cfg) !== policy ? ` (not enforced here: ${applyConfig(policy, cfg)})` : ''}` };
}

function applyConfig(policy: DmarcAction, cfg: Pick<AuthChecksConfig, 'dmarc_reject' | 'dmarc_quarantine'>): DmarcAction {
  if (policy === 'reject' && !cfg.dmarc_reject) return cfg.dmarc_quarantine ? 'quarantine' : 'none';
  if (policy === 'quarantine' && !cfg.dmarc_quarantine) return 'none';
  return policy;
}

export class SenderAuthCheck {
  private readonly stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly done: Promise<AuthenticateResult | Error>;
  private ended = false;

  constructor(input: SenderAuthInput, lookup: LookupFn, private readonly cfg: AuthChecksConfig) {
    this.done = authenticate(this.stream, {
      ip: input.ip,
      helo: input.helo,
      sender: input.sender || undefined,
      mta: input.hostname,
      resolver: lookup as (name: string, type: string) => Promise<string[][]>,
      disableBimi: true,
    }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  }

  write(chunk: Buffer): void {
    if (!this.ended) this.stream.write(chunk);
  }

  /** The message is complete. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.stream.end();
  }

  /** The message will not be kept: let the verifier finish on what it has. */
  abort(): void {
    this.end();
  }

  /** The results; null when the checks failed or took longer than the configured time. */
  async result(): Promise<SenderAuthResult | { error: string }> {
    this.end();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Error>((resolve) => {
      timer = setTimeout(() => resolve(new Error(`sender authentication took longer than ${this.cfg.timeout} ms`)), this.cfg.timeout);
    });
    const r = await Promise.race([this.done, timeout]).finally(() => clearTimeout(timer));
    if (r instanceof Error) return { error: r.message };
    const fromDomain = headerFromDomain(r);
    const dm = r.dmarc
      ? { result: r.dmarc.status.result, domain: r.dmarc.domain, policy: r.dmarc.policy ?? r.dmarc.p ?? 'none', pct: r.dmarc.pct }
      : null;
    const decision = dmarcAction(dm, fromDomain, this.cfg);
    return {
      headers: r.headers.endsWith('\r\n') ? r.headers : r.headers + '\r\n',
      spf: r.spf ? r.spf.status.result : 'none',
      dkim: (r.dkim.results ?? []).map((d) => `${d.status.result}${d.signingDomain ? ` (${d.signingDomain})` : ''}`),
      arc: r.arc ? r.arc.status.result : 'none',
      dmarc: dm ? { result: dm.result, domain: dm.domain, policy: dm.policy } : null,
      action: decision.action,
      reason: decision.reason,
      fromDomain,
    };
  }
}

function headerFromDomain(r: AuthenticateResult): string | null {
  const from = (r.dkim as unknown as { headerFrom?: string | string[] }).headerFrom;
  const one = Array.isArray(from) ? (from.length === 1 ? from[0] : null) : from;
  if (!one) return null;
  const at = one.lastIndexOf('@');
  return at >= 0 ? one.slice(at + 1).toLowerCase() : null;
}
