/**
 * Issue 9.8, account enumeration: through real IMAP, POP3 and SMTP sessions, an unknown name
 * must get the same answers as a real account with a wrong password, on every mechanism.
 * SCRAM is where it showed: its server-first message carries a salt and an iteration count.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.js';
import { Imap } from '../imap/client.js';
import { RawClient } from '../pop3/helpers.js';
import { RawSmtp } from '../smtp/client.js';
import { ScramClient } from './scram-client.js';
import { digestResponse, parseDirectives } from '../../src/auth/sasl-digest.js';
import { DUMMY_HASH, hashPassword } from '../../src/auth/password.js';

let server: TestServer;
const USER = 'usr@example.test';
const PW = 'right-password';

before(async () => {
  server = await startServer({
    toml: '[auth]\nplaintext_without_tls = true\nmechanisms = ["SCRAM-SHA-256", "SCRAM-SHA-1", "DIGEST-MD5", "CRAM-MD5", "PLAIN", "LOGIN"]\n',
  });
  await server.addUser(USER, PW);
});

after(async () => {
  await server?.stop();
});

let host = 0;
/** A loopback address per exchange, so that the failures of one case do not throttle the next. */
const nextAddress = () => `127.0.6.${++host}`;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');

interface Exchange {
  challenges: string[];
  /** The tagged answer without its tag. */
  tagged: string;
}

/** IMAP AUTHENTICATE (RFC 9051 6.2.2, SASL-IR RFC 4959) on a new connection from `from`. */
async function authenticate(from: string, mech: string, initial: string | null, respond: (challenge: string, round: number) => string): Promise<Exchange> {
  const c = await Imap.open(server.ports.imap, { localAddress: from });
  try {
    const tag = c.nextTag();
    c.write(`${tag} AUTHENTICATE ${mech}${initial !== null ? ` ${b64(initial)}` : ''}\r\n`);
    const challenges: string[] = [];
    for (let round = 0; round < 5; round++) {
      const l = await c.line(20_000);
      if (l.startsWith(`${tag} `)) return { challenges, tagged: l.slice(tag.length + 1) };
      assert.match(l, /^\+ ?/, `a continuation, not ${l}`);
      const ch = Buffer.from(l.slice(2), 'base64').toString('utf8');
      challenges.push(ch);
      c.write(`${b64(respond(ch, round))}\r\n`);
    }
    throw new Error(`${mech}: too many rounds`);
  } finally {
    c.close();
  }
}

function scram(mech: 'SCRAM-SHA-256' | 'SCRAM-SHA-1', user: string, pw: string, from = nextAddress()): Promise<Exchange> {
  const client = new ScramClient(mech, user, pw);
  return authenticate(from, mech, client.first(), (ch, round) => (round === 0 ? client.final(ch) : ''));
}

/** s= and i= of a SCRAM server-first-message (RFC 5802 5.1). */
function saltAndCount(serverFirst: string): { salt: string; iterations: string } {
  const a = Object.fromEntries(serverFirst.split(',').map((x) => [x[0], x.slice(2)]));
  return { salt: a.s, iterations: a.i };
}

const FAILED = 'NO [AUTHENTICATIONFAILED] authentication failed';

test('issue 9.8: SCRAM gives an unknown name the configured iteration count and a salt of its own that stays the same, also after a restart', { timeout: 240_000 }, async () => {
  for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const) {
    const real = await scram(mech, USER, 'wrong-password');
    const ghost = await scram(mech, 'ghost@example.test', 'whatever');
    const again = await scram(mech, 'ghost@example.test', 'whatever');
    const other = await scram(mech, 'phantom@example.test', 'whatever');
    const r = saltAndCount(real.challenges[0]);
    const g = saltAndCount(ghost.challenges[0]);
    assert.equal(r.iterations, '10000', 'the configured default');
    assert.equal(g.iterations, r.iterations, `${mech}: the same i= for an unknown name (it was 4096)`);
    assert.equal(Buffer.from(g.salt, 'base64').length, Buffer.from(r.salt, 'base64').length, 'a salt of the same length');
    assert.equal(saltAndCount(again.challenges[0]).salt, g.salt, 'asked again, the same salt, as for a real account');
    assert.notEqual(saltAndCount(other.challenges[0]).salt, g.salt, 'another name, another salt');
    assert.deepEqual([ghost.tagged, ghost.challenges.length], [real.tagged, real.challenges.length]);
    assert.equal(real.tagged, FAILED);
  }
  const before = saltAndCount((await scram('SCRAM-SHA-256', 'ghost@example.test', 'x')).challenges[0]).salt;
  await server.restart();
  const afterRestart = saltAndCount((await scram('SCRAM-SHA-256', 'ghost@example.test', 'x')).challenges[0]).salt;
  assert.equal(afterRestart, before, 'the decoy key is kept in data_dir');
});

test('issue 9.8: SCRAM exchanges naming unknown accounts count as failures: the address is throttled after the limit', { timeout: 240_000 }, async () => {
  const from = '127.0.7.1';
  for (let i = 0; i < 5; i++) assert.equal((await scram('SCRAM-SHA-256', `nobody${i}@example.test`, 'x', from)).tagged, FAILED);
  const sixth = await authenticate(from, 'SCRAM-SHA-256', new ScramClient('SCRAM-SHA-256', 'nobody9@example.test', 'x').first(), () => '');
  assert.match(sixth.tagged, /^NO \[UNAVAILABLE\]/);
  assert.deepEqual(sixth.challenges, [], 'refused before any salt is shown');
  assert.match(server.readLog(), /auth failed: service=imap, mechanism=SCRAM-SHA-256, user=nobody0@example\.test, client=127\.0\.7\.1/);
});

/** Each way to log in, given a name and a password: what the client sees. */
const WAYS: Record<string, (user: string, pw: string) => Promise<unknown>> = {
  'IMAP AUTHENTICATE PLAIN': (u, p) => authenticate(nextAddress(), 'PLAIN', `\0${u}\0${p}`, () => ''),
  'IMAP AUTHENTICATE LOGIN': (u, p) => authenticate(nextAddress(), 'LOGIN', null, (ch) => (ch === 'Username:' ? u : p)),
  'IMAP AUTHENTICATE CRAM-MD5': (u, p) => authenticate(nextAddress(), 'CRAM-MD5', null, (ch) => `${u} ${createHmac('md5', p).update(ch).digest('hex')}`)
    .then((e) => ({ ...e, challenges: e.challenges.map(() => '<challenge>') })),
  'IMAP AUTHENTICATE DIGEST-MD5': (u, p) => authenticate(nextAddress(), 'DIGEST-MD5', null, (ch, round) => {
    if (round > 0) return '';
    const d = parseDirectives(ch)!;
    const v = { ha1: createHash('md5').update(`${u}:${d.get('realm')}:${p}`).digest(), nonce: d.get('nonce')!, cnonce: 'c1c2', nc: '00000001', qop: 'auth', uri: 'imap/mail.example.test' };
    return `username="${u}",realm="${d.get('realm')}",nonce="${v.nonce}",cnonce="c1c2",nc=00000001,qop=auth,digest-uri="imap/mail.example.test",response=${digestResponse(v, 'client')}`;
  }).then((e) => ({ ...e, challenges: e.challenges.map((c) => c.replace(/nonce="[^"]*"/, 'nonce=N')) })),
  'IMAP AUTHENTICATE SCRAM-SHA-1': (u, p) => scram('SCRAM-SHA-1', u, p).then((e) => ({ ...e, challenges: e.challenges.map((c) => c.replace(/r=[^,]*,s=[^,]*,/, 'r=R,s=S,')) })),
  'IMAP AUTHENTICATE SCRAM-SHA-256': (u, p) => scram('SCRAM-SHA-256', u, p).then((e) => ({ ...e, challenges: e.challenges.map((c) => c.replace(/r=[^,]*,s=[^,]*,/, 'r=R,s=S,')) })),
  'IMAP LOGIN': async (u, p) => {
    const c = await Imap.open(server.ports.imap, { localAddress: nextAddress() });
    try {
      return (await c.cmd(`LOGIN "${u}" "${p}"`, 20_000)).all;
    } finally {
      c.close();
    }
  },
  'POP3 USER/PASS': async (u, p) => {
    const c = await RawClient.connect(server.ports.pop3, { localAddress: nextAddress() });
    try {
      await c.line();
      return [await c.cmd(`USER ${u}`), await c.cmd(`PASS ${p}`)];
    } finally {
      c.destroy();
    }
  },
  'SMTP AUTH LOGIN': async (u, p) => {
    const c = await RawSmtp.connect(server.ports.submission, '127.0.0.1', nextAddress());
    try {
      await c.reply();
      await c.cmd('EHLO client.example.test');
      return [(await c.cmd('AUTH LOGIN')).raw, (await c.cmd(b64(u))).raw, (await c.cmd(b64(p), 20_000)).raw];
    } finally {
      c.destroy();
    }
  },
};

test('issue 9.8: every mechanism, IMAP LOGIN, POP3 USER/PASS and SMTP AUTH answer an unknown name exactly as a wrong password', { timeout: 240_000 }, async () => {
  for (const [way, run] of Object.entries(WAYS)) {
    const wrong = await run(USER, 'wrong-password');
    const unknown = await run('nosuchuser@example.test', 'wrong-password');
    assert.deepEqual(unknown, wrong, way);
  }
  // The scrypt an unknown name is checked against costs what a real hash costs: the same parameters.
  const real = await hashPassword('x');
  const shape = (h: string) => h.split('$').map((part, i) => (i < 3 ? part : Buffer.from(part, 'base64').length));
  assert.deepEqual(shape(DUMMY_HASH), shape(real));
});
