import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * A SCRAM client (RFC 5802 / RFC 7677) written from the RFC for the tests, independent of the
 * server code: no SMTP client we can run speaks SCRAM, so the tests drive the exchange with this.
 */
export class ScramClient {
  private readonly hash: 'sha256' | 'sha1';
  private readonly cnonce: string;
  private bare = '';
  private serverSignature: Buffer | null = null;

  constructor(mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-1', private readonly user: string, private readonly password: string, cnonce?: string) {
    this.hash = mechanism === 'SCRAM-SHA-256' ? 'sha256' : 'sha1';
    this.cnonce = cnonce ?? randomBytes(18).toString('base64');
  }

  first(): string {
    this.bare = `n=${this.user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${this.cnonce}`;
    return `n,,${this.bare}`;
  }

  final(serverFirst: string): string {
    const attrs = Object.fromEntries(serverFirst.split(',').map((a) => [a[0], a.slice(2)]));
    if (!attrs.r?.startsWith(this.cnonce)) throw new Error(`server nonce does not extend ours: ${serverFirst}`);
    const len = this.hash === 'sha256' ? 32 : 20;
    const salted = pbkdf2Sync(this.password.normalize('NFKC'), Buffer.from(attrs.s, 'base64'), Number(attrs.i), len, this.hash);
    const clientKey = createHmac(this.hash, salted).update('Client Key').digest();
    const storedKey = createHash(this.hash).update(clientKey).digest();
    const withoutProof = `c=${Buffer.from('n,,').toString('base64')},r=${attrs.r}`;
    const authMessage = `${this.bare},${serverFirst},${withoutProof}`;
    const sig = createHmac(this.hash, storedKey).update(authMessage).digest();
    const proof = Buffer.from(clientKey.map((b, i) => b ^ sig[i]));
    const serverKey = createHmac(this.hash, salted).update('Server Key').digest();
    this.serverSignature = createHmac(this.hash, serverKey).update(authMessage).digest();
    return `${withoutProof},p=${proof.toString('base64')}`;
  }

  /** RFC 5802 3: the client checks the server knew the password too. */
  verify(serverFinal: string): boolean {
    const v = Buffer.from(serverFinal.replace(/^v=/, ''), 'base64');
    return !!this.serverSignature && v.length === this.serverSignature.length && timingSafeEqual(v, this.serverSignature);
  }
}
