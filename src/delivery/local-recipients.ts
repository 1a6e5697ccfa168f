import type { Recipients, RecipientVerdict } from './recipients.js';
import { AddressResolver, splitAddress } from './resolve.js';

/**
 * RCPT-time checks (S2). A local address is accepted when it leads to at least one
 * deliverable target; anything else is a relay attempt, refused unless the client
 * authenticated (outbound delivery comes with submission).
 */
export class LocalRecipients implements Recipients {
  constructor(private readonly resolver: AddressResolver) {}

  async check(address: string, session: { clientAddress: string; authUser?: string }): Promise<RecipientVerdict> {
    const { local, domain } = splitAddress(address);
    if (!local || !domain) return { ok: false, code: 501, enhanced: '5.1.3', text: `Bad recipient address syntax <${address}>` };
    const normalized = `${local}@${domain}`;
    if (!this.resolver.isLocalDomain(domain)) {
      if (session.authUser) return { ok: true, address: normalized, local: false };
      return { ok: false, code: 550, enhanced: '5.7.1', text: `<${address}>: Relay access denied` };
    }
    const r = await this.resolver.resolve(normalized);
    if (!r.targets.length) return { ok: false, code: 550, enhanced: '5.1.1', text: `<${address}>: Recipient address rejected: User unknown` };
    return { ok: true, address: normalized, local: true };
  }
}
