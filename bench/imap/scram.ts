/**
 * AUTHENTICATE SCRAM-SHA-256 (RFC 5802, RFC 7677) for the IDLE phase: the client derives the
 * salted password once per user (PBKDF2 with the server's salt and iteration count) and then
 * each login costs both sides a few HMACs, so 10,000 sessions log in within the bench's time
 * instead of 10,000 scrypt checks. What is measured there is memory with the sessions open,
 * not the login.
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { LoadClient } from './client.js';

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest();
const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

/** ClientKey and ServerKey per "salt,iterations,password" (RFC 5802 3). */
const keys = new Map<string, { clientKey: Buffer; storedKey: Buffer; serverKey: Buffer }>();

function keysFor(password: string, salt: string, iterations: number) {
  const k = `${salt},${iterations},${password}`;
  let e = keys.get(k);
  if (!e) {
    const salted = pbkdf2Sync(password.normalize('NFC'), Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    e = { clientKey, storedKey: createHash('sha256').update(clientKey).digest(), serverKey: hmac(salted, 'Server Key') };
    keys.set(k, e);
  }
  return e;
}

/** Logs `c` in as `user`; throws with the server's answer if the exchange fails. */
export async function scramLogin(c: LoadClient, user: string, password: string): Promise<void> {
  const nonce = randomBytes(18).toString('base64');
  const clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
  // SASL-IR (RFC 4959): the client-first message on the command line.
  const first = await c.exchange(`AUTHENTICATE SCRAM-SHA-256 ${b64(`n,,${clientFirstBare}`)}`, true);
  if (!first.continuation) throw new Error(`SCRAM: server-first expected, got ${first.text}`);
  const serverFirst = Buffer.from(first.text.slice(2), 'base64').toString('utf8');
  const attrs = new Map(serverFirst.split(',').map((a) => [a[0], a.slice(2)] as [string, string]));
  const r = attrs.get('r')!, s = attrs.get('s')!, i = Number(attrs.get('i'));
  if (!r?.startsWith(nonce) || !s || !i) throw new Error(`SCRAM: bad server-first ${serverFirst}`);
  const k = keysFor(password, s, i);
  const withoutProof = `c=biws,r=${r}`;
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`;
  const signature = hmac(k.storedKey, authMessage);
  const proof = Buffer.from(k.clientKey.map((b, j) => b ^ signature[j]));
  const final = await c.exchange(b64(`${withoutProof},p=${proof.toString('base64')}`), false);
  if (!final.continuation) throw new Error(`SCRAM: server-final expected, got ${final.text}`);
  const expected = `v=${hmac(k.serverKey, authMessage).toString('base64')}`;
  if (Buffer.from(final.text.slice(2), 'base64').toString('utf8') !== expected) throw new Error('SCRAM: wrong server signature');
  const done = await c.exchange('', false);
  if (!done.ok || done.continuation) throw new Error(`SCRAM: login refused: ${done.text}`);
}
