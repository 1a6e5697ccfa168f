import { availableParallelism } from 'node:os';
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';

/**
 * Password hashes, never clear text (S33): scrypt (RFC 7914) in a self-describing string
 *   $scrypt$ln=14,r=8,p=1$<salt b64>$<hash b64>
 * so that the cost can be raised later without breaking stored hashes.
 */
const LN = 14, R = 8, P = 1, KEYLEN = 32;

/**
 * scrypt runs in libuv's threadpool (crypto.scrypt, never the Sync form), and at most this
 * many at once: on a 2-core machine one, so that a burst of logins takes one core and the
 * event loop keeps the other (issue 8: commands waited 60-80 ms behind 4 parallel scrypts).
 * The pool keeps its default 4 threads: file I/O and fsync share it and must not queue
 * behind password checks.
 */
const MAX_PARALLEL = Math.max(1, availableParallelism() - 1);
let running = 0;
const waiting: (() => void)[] = [];

async function inSlot<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= MAX_PARALLEL) await new Promise<void>((resolve) => waiting.push(resolve));
  else running++;
  try {
    return await fn();
  } finally {
    // The slot passes straight to the next waiter, so `running` stays counted for it.
    const next = waiting.shift();
    if (next) next();
    else running--;
  }
}

function scrypt(password: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  return inSlot(() => new Promise((resolve, reject) =>
    scryptCb(password.normalize('NFC'), salt, KEYLEN, { N: 1 << ln, r, p, maxmem: 256 * (1 << ln) * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key)),
  ));
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, LN, R, P);
  return `$scrypt$ln=${LN},r=${R},p=${P}$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = /^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const expected = Buffer.from(m[5], 'base64');
  const key = await scrypt(password, Buffer.from(m[4], 'base64'), Number(m[1]), Number(m[2]), Number(m[3]));
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * What a password is checked against when the user does not exist: the parameters of a real
 * hash, so the check costs the same scrypt and timing does not tell (issue 9.8). Nothing
 * matches it, and making it costs nothing (no scrypt of its own on the first unknown name).
 */
export const DUMMY_HASH = `$scrypt$ln=${LN},r=${R},p=${P}$${randomBytes(16).toString('base64')}$${randomBytes(KEYLEN).toString('base64')}`;
