import type { RecipientSession, Recipients, RecipientVerdict } from './recipients.js';
import { AddressResolver, splitAddress } from './resolve.js';

/**
 * RCPT-time checks (S2). A local address is accepted when it leads to at least one
 * deliverable target; a map's refusal (error:, S22 redirect) is given as the map says. Anything
 * else is a relay attempt, refused unless the client authenticated or the policy (access map,
 * relay-domains) allows relaying for it.
 */
export class LocalRecipients implements Recipients {
  constructor(private readonly resolver: AddressResolver) {}

  isLocalDomain(domain: string): boolean {
    return this.resolver.isLocalDomain(domain);
  }

  async check(address: string, session: RecipientSession): Promise<RecipientVerdict> {
    const { local, domain } = splitAddress(address);
    if (!local || !domain) return { ok: false, code: 501, enhanced: '5.1.3', text: `Bad recipient address syntax <${address}>` };
    const normalized = `${local}@${domain}`;
    if (!this.resolver.isLocalDomain(domain)) {
      if (session.authUser || session.relay) return { ok: true, address: normalized, local: false };
      return { ok: false, code: 550, enhanced: '5.7.1', text: `<${address}>: Relay access denied` };
    }
    const r = await this.resolver.resolve(normalized);
    if (!r.targets.length && !r.external.length) {
      const refusal = r.problems.find((p) => p.reply)?.reply;
      // RFC 5321 3.4: a 551 names the new address and nothing else.
      if (refusal) return { ok: false, code: refusal.code, enhanced: refusal.enhanced, text: refusal.code === 551 ? refusal.text : `<${address}>: ${refusal.text}` };
      return { ok: false, code: 550, enhanced: '5.1.1', text: `<${address}>: Recipient address rejected: User unknown` };
    }
    return { ok: true, address: normalized, local: true };
  }
}
