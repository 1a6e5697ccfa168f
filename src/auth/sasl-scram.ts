import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseScram, type ScramSecret } from './secrets.js';
import type { AuthOutcome } from './types.js';
import type { SaslEnv, SaslExchange, SaslStep } from './sasl.js';

/**
 * SCRAM-SHA-256 (RFC 7677) and SCRAM-SHA-1 (RFC 5802), server side, without channel
 * binding (the -PLUS variants are not offered, so a client's "y" flag is fine, RFC 5802 6).
 *
 *   C: n,,n=user,r=CNONCE                       client-first-message (gs2-header + bare)
 *   S: r=CNONCE SNONCE,s=SALT,i=ITER            server-first-message
 *   C: c=biws,r=CNONCE SNONCE,p=PROOF           client-final-message
 *   S: v=SERVERSIGNATURE                        server-final-message, sent as a challenge:
 *   C: (empty)                                  SMTP, IMAP and POP3 have no "additional data
 *                                               with success" (RFC 4422 3.6, RFC 4954 4)
 *
 * An unknown user gets a decoy (decoy.ts): the configured iteration count, a salt that stays
 * the same for the name, keys no proof can match; the exchange looks the same whether the
 * account exists or not, and ends as a counted failure (issue 9.8).
 */

type Stage =
  | { kind: 'first' }
  | { kind: 'final'; login: string; user: string | null; secret: ScramSecret; real: boolean; bare: string; serverFirst: string; gs2: string; nonce: string }
  | { kind: 'verified'; outcome: AuthOutcome };

/** RFC 5802 5.1 saslname: "=2C" is ",", "=3D" is "=", any other "=" is an error. */
function decodeSaslname(s: string): string | null {
  if (/=(?!2C|3D)/.test(s)) return null;
  return s.replace(/=2C/g, ',').replace(/=3D/g, '=');
}

const malformed = (message: string): SaslStep => ({ kind: 'malformed', message });

export class Scram implements SaslExchange {
  private stage: Stage = { kind: 'first' };
  private readonly hash: 'sha256' | 'sha1';

  constructor(readonly mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-1', private readonly env: SaslEnv) {
    this.hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha1';
  }

  async start(initial: Buffer | null): Promise<SaslStep> {
    // RFC 5802 5: the client speaks first; without an initial response it gets an empty challenge.
    return initial === null || !initial.length ? { kind: 'challenge', data: Buffer.alloc(0) } : this.next(initial);
  }

  async next(response: Buffer): Promise<SaslStep> {
    const st = this.stage;
    switch (st.kind) {
      case 'first':
        return this.clientFirst(response.toString('utf8'));
      case 'final':
        return this.clientFinal(st, response.toString('utf8'));
      case 'verified':
        if (response.length) return malformed('SCRAM: expected an empty response after the server signature');
        return { kind: 'done', outcome: st.outcome };
    }
  }

  private async clientFirst(text: string): Promise<SaslStep> {
    // gs2-header = gs2-cbind-flag "," [ authzid ] ","
    const m = /^(n|y|p=[^,]*),(a=[^,]*)?,(.*)$/s.exec(text);
    if (!m) return malformed('SCRAM: bad client-first-message');
    if (m[1].startsWith('p=')) return malformed('SCRAM: channel binding is not supported (no -PLUS mechanism offered)');
    const bare = m[3];
    const attrs = bare.split(',');
    if (attrs[0]?.startsWith('m=')) return malformed('SCRAM: mandatory extension not supported');
    if (!attrs[0]?.startsWith('n=') || !attrs[1]?.startsWith('r=') || attrs[1].length < 3) return malformed('SCRAM: client-first-message needs n= and r=');
    const login = decodeSaslname(attrs[0].slice(2));
    if (!login) return malformed('SCRAM: bad user name encoding');
    const cnonce = attrs[1].slice(2);
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(cnonce)) return malformed('SCRAM: bad nonce');
    const authzid = m[2] ? decodeSaslname(m[2].slice(2)) : null;

    const found = await this.env.auth.lookup(login, this.mechanism, this.env.clientAddress);
    if (found.throttled) return { kind: 'done', outcome: { ok: false, reason: 'throttled' } };
    const secret = parseScram(found.secret);
    if (!secret || secret.hash !== this.hash) return { kind: 'done', outcome: this.env.auth.settle(login, found.user, false, this.env.service, this.env.clientAddress, this.mechanism) };
    const real = found.genuine && (authzid === null || this.env.auth.qualify(authzid) === found.user);
    const nonce = cnonce + randomBytes(18).toString('base64');
    const serverFirst = `r=${nonce},s=${secret.salt.toString('base64')},i=${secret.iterations}`;
    const gs2 = text.slice(0, text.length - bare.length);
    this.stage = { kind: 'final', login, user: found.user, secret, real, bare, serverFirst, gs2, nonce };
    return { kind: 'challenge', data: Buffer.from(serverFirst) };
  }

  private clientFinal(st: Extract<Stage, { kind: 'final' }>, text: string): SaslStep {
    const at = text.lastIndexOf(',p=');
    if (at < 0) return malformed('SCRAM: client-final-message without proof');
    const withoutProof = text.slice(0, at);
    const attrs = withoutProof.split(',');
    if (!attrs[0]?.startsWith('c=') || !attrs[1]?.startsWith('r=')) return malformed('SCRAM: client-final-message needs c= and r=');
    // RFC 5802 5.1 c=: the gs2-header again (no channel-binding data without -PLUS).
    if (Buffer.from(attrs[0].slice(2), 'base64').toString('utf8') !== st.gs2) return malformed('SCRAM: channel binding data does not match');
    if (attrs[1].slice(2) !== st.nonce) return malformed('SCRAM: nonce does not match');
    const proof = Buffer.from(text.slice(at + 3), 'base64');
    const authMessage = `${st.bare},${st.serverFirst},${withoutProof}`;
    const signature = createHmac(this.hash, st.secret.storedKey).update(authMessage).digest();
    let ok = false;
    if (proof.length === signature.length) {
      const clientKey = Buffer.alloc(proof.length);
      for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i] ^ signature[i];
      ok = timingSafeEqual(createHash(this.hash).update(clientKey).digest(), st.secret.storedKey) && st.real;
    }
    const outcome = this.env.auth.settle(st.login, st.user, ok, this.env.service, this.env.clientAddress, this.mechanism);
    if (!outcome.ok) return { kind: 'done', outcome };
    this.stage = { kind: 'verified', outcome };
    const serverSignature = createHmac(this.hash, st.secret.serverKey).update(authMessage).digest();
    return { kind: 'challenge', data: Buffer.from(`v=${serverSignature.toString('base64')}`) };
  }
}
