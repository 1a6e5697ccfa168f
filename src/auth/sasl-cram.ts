import { randomBytes, timingSafeEqual } from 'node:crypto';
import { hmacMd5FromPads, hmacMd5Pads } from './md5.js';
import { parseCramPads } from './secrets.js';
import type { SaslEnv, SaslExchange, SaslStep } from './sasl.js';

/**
 * CRAM-MD5 (RFC 2195): the server sends a unique challenge "<random.time@host>", the client
 * answers "user SP hex(HMAC-MD5(password, challenge))". Checked against the stored HMAC pads
 * (secrets.ts); an unknown user is checked against decoy pads (decoy.ts), so the answer takes the same path.
 */
export class CramMd5 implements SaslExchange {
  readonly mechanism = 'CRAM-MD5';
  private challenge: Buffer | null = null;

  constructor(private readonly env: SaslEnv) {}

  async start(initial: Buffer | null): Promise<SaslStep> {
    // RFC 2195: the server speaks first; an initial response makes no sense here.
    if (initial !== null && initial.length) return { kind: 'malformed', message: 'CRAM-MD5 takes no initial response' };
    this.challenge = Buffer.from(`<${randomBytes(8).readBigUInt64BE()}.${Date.now()}@${this.env.hostname ?? 'localhost'}>`);
    return { kind: 'challenge', data: this.challenge };
  }

  async next(response: Buffer): Promise<SaslStep> {
    if (!this.challenge) return { kind: 'malformed', message: 'CRAM-MD5: no challenge sent' };
    const text = response.toString('utf8');
    const sp = text.lastIndexOf(' ');
    const login = sp > 0 ? text.slice(0, sp) : '';
    const digest = text.slice(sp + 1).toLowerCase();
    if (!login || !/^[0-9a-f]{32}$/.test(digest)) return { kind: 'malformed', message: 'CRAM-MD5 response is not "user digest"' };
    const found = await this.env.auth.lookup(login, 'CRAM-MD5', this.env.clientAddress);
    if (found.throttled) return { kind: 'done', outcome: { ok: false, reason: 'throttled' } };
    const pads = parseCramPads(found.secret) ?? hmacMd5Pads(randomBytes(16));
    const expected = hmacMd5FromPads(pads, this.challenge);
    const ok = timingSafeEqual(expected, Buffer.from(digest, 'hex')) && found.genuine;
    return { kind: 'done', outcome: this.env.auth.settle(login, found.user, ok, this.env.service, this.env.clientAddress, this.mechanism) };
  }
}
