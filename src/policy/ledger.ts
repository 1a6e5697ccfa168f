import type { Reply } from '../smtp/codes.js';

/**
 * What the policy looked at and what it concluded, in order: the answer to "why was this
 * refused?" (STYLE.md: hooks with verdicts and a ledger of what matched). The SMTP session logs
 * the entries of a refusal; `correo policy check` prints them all.
 */

export type Stage = 'connect' | 'helo' | 'mail' | 'rcpt' | 'data';

/** What one check concluded. */
export type Outcome = 'accept' | 'relay' | 'reject' | 'tempfail' | 'discard' | 'skip' | 'note' | 'whitelist';

export interface LedgerEntry {
  stage: Stage;
  /** Which check: access, dnsbl, dnswl, relay, recipient, rate, greylist, spf, dkim, dmarc, hops ... */
  check: string;
  outcome: Outcome;
  /** What matched, e.g. "/etc/correo/access:3: 20.20.128. RELAY" or "127.0.0.2 listed at zen.test". */
  detail: string;
}

/** The end of a check: go on, or answer this. */
export type Verdict =
  | { kind: 'continue' }
  | { kind: 'refuse'; reply: Reply }
  | { kind: 'discard' };

export class Ledger {
  readonly entries: LedgerEntry[] = [];

  add(stage: Stage, check: string, outcome: Outcome, detail: string): void {
    this.entries.push({ stage, check, outcome, detail });
  }

  /** Entries from `from` on (one transaction's, one recipient's). */
  since(from: number): LedgerEntry[] {
    return this.entries.slice(from);
  }

  get length(): number {
    return this.entries.length;
  }
}

export function formatEntry(e: LedgerEntry): string {
  return `${e.stage} ${e.check}: ${e.outcome}: ${e.detail}`;
}

export function replyText(r: Reply): string {
  const text = Array.isArray(r.text) ? r.text.join(' / ') : r.text;
  return `${r.code}${r.enhanced ? ' ' + r.enhanced : ''} ${text}`;
}
