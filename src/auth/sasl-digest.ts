import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseDigest } from './secrets.js';
import type { AuthService } from './types.js';
import type { SaslEnv, SaslExchange, SaslStep } from './sasl.js';

/**
 * DIGEST-MD5 (RFC 2831), authentication only (qop=auth; no integrity or privacy layer).
 * Obsoleted by RFC 6331 and off unless the admin enables it (docs/DECISIONS.md).
 *
 *   S: realm="HOST",nonce="N",qop="auth",charset=utf-8,algorithm=md5-sess
 *   C: username="u@d",realm="HOST",nonce="N",cnonce="C",nc=00000001,qop=auth,
 *      digest-uri="smtp/HOST",response=HEX
 *   S: rspauth=HEX                         (as a challenge; the client answers empty)
 *
 * The stored secret is H(address:realm:password) for the realm the server offers (its host
 * name), so the client must give the full address as username.
 */

/** RFC 2831 2.1.2: the "serv-type" of digest-uri per protocol. */
const SERV_TYPE: Record<AuthService, string> = { smtp: 'smtp', submission: 'smtp', imap: 'imap', pop3: 'pop', sieve: 'sieve' };

const md5 = (s: string | Buffer) => createHash('md5').update(s).digest();
const hex = (b: Buffer) => b.toString('hex');

/** RFC 2831 7.1 #rule of name=value, values as token or quoted-string. */
export function parseDirectives(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t' || text[i] === ',') i++;
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    if (eq < 0) return null;
    const name = text.slice(i, eq).trim().toLowerCase();
    i = eq + 1;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return null;
        if (text[i] === '\\') {
          value += text[i + 1] ?? '';
          i += 2;
        } else if (text[i] === '"') {
          i++;
          break;
        } else value += text[i++];
      }
    } else {
      const end = text.indexOf(',', i);
      value = (end < 0 ? text.slice(i) : text.slice(i, end)).trim();
      i = end < 0 ? text.length : end;
    }
    // RFC 2831 2.1.2: most directives must occur at most once.
    if (out.has(name)) return null;
    out.set(name, value);
  }
  return out;
}

export interface DigestValues {
  /** H(username:realm:password), the stored secret. */
  ha1: Buffer;
  nonce: string;
  cnonce: string;
  nc: string;
  qop: string;
  uri: string;
  authzid?: string;
}

/**
 * RFC 2831 2.1.2.1: response-value = HEX(KD(HEX(H(A1)), nonce:nc:cnonce:qop:HEX(H(A2)))),
 * A1 = H(user:realm:passwd):nonce:cnonce[:authzid]; A2 = "AUTHENTICATE:" digest-uri for the
 * client's response, ":" digest-uri for the server's rspauth (2.1.3).
 */
export function digestResponse(v: DigestValues, side: 'client' | 'server'): string {
  const a1 = Buffer.concat([v.ha1, Buffer.from(`:${v.nonce}:${v.cnonce}${v.authzid ? `:${v.authzid}` : ''}`, 'utf8')]);
  const a2 = `${side === 'client' ? 'AUTHENTICATE' : ''}:${v.uri}`;
  return hex(md5(`${hex(md5(a1))}:${v.nonce}:${v.nc}:${v.cnonce}:${v.qop}:${hex(md5(a2))}`));
}

type Stage = { kind: 'challenge'; nonce: string } | { kind: 'verified'; outcome: Extract<SaslStep, { kind: 'done' }>['outcome'] } | { kind: 'new' };

export class DigestMd5 implements SaslExchange {
  readonly mechanism = 'DIGEST-MD5';
  private stage: Stage = { kind: 'new' };
  private readonly realm: string;

  constructor(private readonly env: SaslEnv) {
    this.realm = env.hostname ?? 'localhost';
  }

  async start(initial: Buffer | null): Promise<SaslStep> {
    if (initial !== null && initial.length) return { kind: 'malformed', message: 'DIGEST-MD5 initial authentication is not supported' };
    const nonce = randomBytes(24).toString('base64');
    this.stage = { kind: 'challenge', nonce };
    return { kind: 'challenge', data: Buffer.from(`realm="${this.realm}",nonce="${nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`) };
  }

  async next(response: Buffer): Promise<SaslStep> {
    const st = this.stage;
    if (st.kind === 'verified') {
      if (response.length) return { kind: 'malformed', message: 'DIGEST-MD5: expected an empty response after rspauth' };
      return { kind: 'done', outcome: st.outcome };
    }
    if (st.kind !== 'challenge') return { kind: 'malformed', message: 'DIGEST-MD5: no challenge sent' };
    const d = parseDirectives(response.toString('utf8'));
    if (!d) return { kind: 'malformed', message: 'DIGEST-MD5: unparsable response' };
    const username = d.get('username');
    const cnonce = d.get('cnonce');
    const nc = d.get('nc');
    const qop = d.get('qop') ?? 'auth';
    const uri = d.get('digest-uri');
    const resp = d.get('response')?.toLowerCase();
    if (!username || !cnonce || !nc || !uri || !resp || !/^[0-9a-f]{32}$/.test(resp)) return { kind: 'malformed', message: 'DIGEST-MD5: missing directives' };
    if (d.get('nonce') !== st.nonce) return { kind: 'malformed', message: 'DIGEST-MD5: nonce does not match' };
    if (qop !== 'auth') return { kind: 'malformed', message: 'DIGEST-MD5: only qop=auth is offered' };
    if (nc !== '00000001') return { kind: 'malformed', message: 'DIGEST-MD5: nonce count must be 00000001' };
    if (uri.split('/')[0].toLowerCase() !== SERV_TYPE[this.env.service]) return { kind: 'malformed', message: `DIGEST-MD5: digest-uri must be ${SERV_TYPE[this.env.service]}/host` };
    const authzid = d.get('authzid');

    const found = await this.env.auth.lookup(username, 'DIGEST-MD5', this.env.clientAddress);
    if (found.throttled) return { kind: 'done', outcome: { ok: false, reason: 'throttled' } };
    const secret = parseDigest(found.secret);
    const ha1 = secret?.ha1 ?? randomBytes(16);
    const realmOk = (d.get('realm') ?? '') === (secret?.realm ?? this.realm);
    const values: DigestValues = { ha1, nonce: st.nonce, cnonce, nc, qop, uri, authzid };
    const expected = Buffer.from(digestResponse(values, 'client'));
    const matches = timingSafeEqual(expected, Buffer.from(resp));
    const ok = matches && realmOk && found.genuine && username === found.user
      && (!authzid || this.env.auth.qualify(authzid) === found.user);
    const outcome = this.env.auth.settle(username, found.user, ok, this.env.service, this.env.clientAddress, this.mechanism);
    if (!outcome.ok) return { kind: 'done', outcome };
    this.stage = { kind: 'verified', outcome };
    return { kind: 'challenge', data: Buffer.from(`rspauth=${digestResponse(values, 'server')}`) };
  }
}
