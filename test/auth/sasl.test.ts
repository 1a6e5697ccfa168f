import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/open.js';
import { Logger } from '../../src/log/logger.js';
import { makeAuthenticator, setPassword } from '../../src/auth/accounts.js';
import { hashPassword } from '../../src/auth/password.js';
import { hmacMd5FromPads, hmacMd5Pads } from '../../src/auth/md5.js';
import { scramKeys } from '../../src/auth/secrets.js';
import { digestResponse, parseDirectives } from '../../src/auth/sasl-digest.js';
import { offeredMechanisms, startExchange, type SaslExchange, type SaslStep } from '../../src/auth/sasl.js';
import type { Config } from '../../src/config/types.js';
import { ScramClient } from './scram-client.js';

/**
 * The SASL engine on the real parts (config, SQLite users and secrets, the authenticator with
 * its throttles), driven the way a protocol drives it, with clients written from the RFCs.
 */

const dir = mkdtempSync(join(tmpdir(), 'correo-sasl-'));
function configWith(mechanisms: string[], limit = 3): Config {
  const file = join(dir, `correo-${mechanisms.length}-${limit}.toml`);
  writeFileSync(file, `hostname = "mail.example.test"
data_dir = "${join(dir, 'data')}"
domains = ["example.test"]
[auth]
mechanisms = ${JSON.stringify(mechanisms)}
scram_iterations = 4096
[pop3]
auth_fail_limit = ${limit}
`);
  return loadConfig(file);
}
const ALL = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'SCRAM-SHA-1', 'DIGEST-MD5'];
const config = configWith(ALL);
const stores = openStore({ dataDir: config.data_dir, writer: 'thread' });
const store = stores.mailboxes;
const secrets = stores.secrets;
/** The test's own look at the tables. */
const db = new Database(join(config.data_dir, 'correo.db'), { readonly: true });
const logFile = join(dir, 'mail.log');
const log = new Logger(config.hostname, 20, logFile);
const PASSWORD = 'pencil ünïcode';

test.after(async () => {
  db.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
});

let ip = 0;
/** A fresh client address per exchange, so that throttling tests do not leak into the others. */
const nextIp = () => `192.0.2.${++ip}`;

async function exchange(cfg: Config, mech: string, respond: (challenge: Buffer, round: number) => Buffer, opts: { initial?: Buffer | null; clientAddress?: string; auth?: ReturnType<typeof makeAuthenticator> } = {}): Promise<{ step: SaslStep; challenges: Buffer[] }> {
  const auth = opts.auth ?? makeAuthenticator(cfg, store, secrets, log);
  const ex = startExchange(mech, offeredMechanisms(true, false, cfg.auth.mechanisms), { auth, service: 'submission', clientAddress: opts.clientAddress ?? nextIp(), hostname: cfg.hostname }) as SaslExchange;
  assert.ok(ex, `${mech} is offered`);
  const challenges: Buffer[] = [];
  let step = await ex.start(opts.initial ?? null);
  for (let round = 0; step.kind === 'challenge'; round++) {
    assert.ok(round < 5, 'too many rounds');
    challenges.push(step.data);
    step = await ex.next(respond(step.data, round));
  }
  return { step, challenges };
}

test('setup: a user whose password set by "correo user add" made every enabled secret', { timeout: 30000 }, async () => {
  await setPassword(config, store, secrets, 'usr@example.test', PASSWORD, true);
  const rows = db.prepare('SELECT scheme, secret FROM sasl_secrets ORDER BY scheme').all() as { scheme: string; secret: string }[];
  assert.deepEqual(rows.map((r) => r.scheme), ['CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256']);
  for (const r of rows) assert.ok(!r.secret.includes(PASSWORD), 'no clear password stored');
  assert.match(rows.find((r) => r.scheme === 'SCRAM-SHA-256')!.secret, /^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
});

test('MD5 pads: HMAC-MD5 from the stored inner/outer states equals node:crypto for keys and messages of every awkward length', () => {
  for (const keyLen of [0, 1, 16, 63, 64, 65, 200]) {
    const key = randomBytes(keyLen);
    const pads = hmacMd5Pads(key);
    for (const msgLen of [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const msg = randomBytes(msgLen);
      assert.equal(hmacMd5FromPads(pads, msg).toString('hex'), createHmac('md5', key).update(msg).digest('hex'), `key ${keyLen}, message ${msgLen}`);
    }
  }
});

test('CRAM-MD5: RFC 2195 example digest from the pads', () => {
  const pads = hmacMd5Pads(Buffer.from('tanstaaftanstaaf'));
  assert.equal(hmacMd5FromPads(pads, Buffer.from('<1896.697170952@postoffice.reston.mci.net>')).toString('hex'), 'b913a602c7eda7a495b4e6e7334d3890');
});

test('SCRAM keys: RFC 5802 (SHA-1) and RFC 7677 (SHA-256) example exchanges give the RFCs\' server signatures', () => {
  const sha1 = scramKeys('sha1', 'pencil', Buffer.from('QSXCR+Q6sek8bf92', 'base64'), 4096);
  const am1 = 'n=user,r=fyko+d2lbbFgONRv9qkxdawL,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j';
  assert.equal(createHmac('sha1', sha1.serverKey).update(am1).digest('base64'), 'rmF9pqV8S7suAoZWja4dJRkFsKQ=');
  const sig1 = createHmac('sha1', sha1.storedKey).update(am1).digest();
  assert.equal(Buffer.from(sha1.clientKey.map((b, i) => b ^ sig1[i])).toString('base64'), 'v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=');
  const sha256 = scramKeys('sha256', 'pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'), 4096);
  const am256 = 'n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
  assert.equal(createHmac('sha256', sha256.serverKey).update(am256).digest('base64'), '6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
  const sig = createHmac('sha256', sha256.storedKey).update(am256).digest();
  assert.equal(Buffer.from(sha256.clientKey.map((b, i) => b ^ sig[i])).toString('base64'), 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=');
  assert.equal(createHash('sha256').update(sha256.clientKey).digest('hex'), sha256.storedKey.toString('hex'));
});

test('DIGEST-MD5: RFC 2831 4 example response and rspauth; directive parsing with quoted pairs', () => {
  const ha1 = createHash('md5').update('chris:elwood.innosoft.com:secret').digest();
  const v = { ha1, nonce: 'OA6MG9tEQGm2hh', cnonce: 'OA6MHXh6VqTrRk', nc: '00000001', qop: 'auth', uri: 'imap/elwood.innosoft.com' };
  assert.equal(digestResponse(v, 'client'), 'd388dad90d4bbd760a152321f2143af7');
  assert.equal(digestResponse(v, 'server'), 'ea40f60335c427b5527b84dbabcdfffd');
  const d = parseDirectives('username="ch\\"ris",realm="a,b" , nc=00000001,qop=auth');
  assert.deepEqual(d && Object.fromEntries(d), { username: 'ch"ris', realm: 'a,b', nc: '00000001', qop: 'auth' });
  assert.equal(parseDirectives('a=1,a=2'), null, 'a repeated directive is refused');
  assert.equal(parseDirectives('a="unterminated'), null);
});

test('SCRAM-SHA-256 and SCRAM-SHA-1: a full exchange logs in, and the server proves it knows the secret', { timeout: 30000 }, async () => {
  for (const mech of ['SCRAM-SHA-256', 'SCRAM-SHA-1'] as const) {
    const c = new ScramClient(mech, 'usr@example.test', PASSWORD);
    let verified = false;
    const { step } = await exchange(config, mech, (ch, round) => {
      if (round === 0) return Buffer.from(c.final(ch.toString()));
      verified = c.verify(ch.toString());
      return Buffer.alloc(0);
    }, { initial: Buffer.from(c.first()) });
    assert.deepEqual(step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } }, mech);
    assert.ok(verified, `${mech}: server signature checks out`);
  }
});

test('SCRAM: wrong password and unknown user fail the same way (a salt is sent for both); bad syntax is malformed', { timeout: 30000 }, async () => {
  for (const [user, pw] of [['usr@example.test', 'wrong'], ['nobody@example.test', PASSWORD]]) {
    const c = new ScramClient('SCRAM-SHA-256', user, pw);
    const { step, challenges } = await exchange(config, 'SCRAM-SHA-256', (ch) => Buffer.from(c.final(ch.toString())), { initial: Buffer.from(c.first()) });
    assert.match(challenges[0].toString(), /^r=[^,]+,s=[A-Za-z0-9+/=]+,i=\d+$/);
    assert.deepEqual(step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } }, user);
  }
  const bad = await exchange(config, 'SCRAM-SHA-256', () => Buffer.alloc(0), { initial: Buffer.from('p=tls-unique,,n=usr,r=abc') });
  assert.equal(bad.step.kind, 'malformed');
  const nonce = await exchange(config, 'SCRAM-SHA-256', (ch) => Buffer.from(`c=biws,r=${ch.toString().split(',')[0].slice(2)}X,p=AAAA`), { initial: Buffer.from('n,,n=usr@example.test,r=abc') });
  assert.deepEqual(nonce.step, { kind: 'malformed', message: 'SCRAM: nonce does not match' });
});

test('CRAM-MD5 and DIGEST-MD5 against the stored secrets; LOGIN and PLAIN against the scrypt hash', { timeout: 30000 }, async () => {
  const cram = (pw: string) => (ch: Buffer) => Buffer.from(`usr@example.test ${createHmac('md5', pw).update(ch).digest('hex')}`);
  assert.deepEqual((await exchange(config, 'CRAM-MD5', cram(PASSWORD))).step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } });
  assert.deepEqual((await exchange(config, 'CRAM-MD5', cram('nope'))).step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } });
  const { challenges } = await exchange(config, 'CRAM-MD5', cram(PASSWORD));
  assert.match(challenges[0].toString(), /^<\d+\.\d+@mail\.example\.test>$/, 'RFC 2195 msg-id challenge');

  const digest = (pw: string) => (ch: Buffer, round: number) => {
    if (round > 0) return Buffer.alloc(0);
    const d = parseDirectives(ch.toString())!;
    const realm = d.get('realm')!;
    const v = { ha1: createHash('md5').update(`usr@example.test:${realm}:${pw}`).digest(), nonce: d.get('nonce')!, cnonce: 'c1c2c3', nc: '00000001', qop: 'auth', uri: 'smtp/mail.example.test' };
    return Buffer.from(`username="usr@example.test",realm="${realm}",nonce="${v.nonce}",cnonce="c1c2c3",nc=00000001,qop=auth,digest-uri="smtp/mail.example.test",response=${digestResponse(v, 'client')},charset=utf-8`);
  };
  const ok = await exchange(config, 'DIGEST-MD5', digest(PASSWORD));
  assert.deepEqual(ok.step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } });
  assert.match(ok.challenges[1].toString(), /^rspauth=[0-9a-f]{32}$/);
  assert.deepEqual((await exchange(config, 'DIGEST-MD5', digest('wrong'))).step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } });

  const login = await exchange(config, 'LOGIN', (ch) => Buffer.from(ch.toString() === 'Username:' ? 'usr' : PASSWORD));
  assert.deepEqual(login.step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } }, 'a bare local part is qualified with the only domain');
  const plain = await exchange(config, 'PLAIN', () => Buffer.alloc(0), { initial: Buffer.from(`\0usr@example.test\0${PASSWORD}`) });
  assert.deepEqual(plain.step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } });
  const other = await exchange(config, 'PLAIN', () => Buffer.alloc(0), { initial: Buffer.from(`boss@example.test\0usr@example.test\0${PASSWORD}`) });
  assert.deepEqual(other.step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } }, 'no authorization as someone else');
});

test('a password changed behind the secrets\' back makes them stale: the old password no longer works by SCRAM', { timeout: 30000 }, async () => {
  await setPassword(config, store, secrets, 'stale@example.test', 'old-password', true);
  await store.setPasswordHash('stale@example.test', await hashPassword('new-password'));
  const c = new ScramClient('SCRAM-SHA-256', 'stale@example.test', 'old-password');
  const { step } = await exchange(config, 'SCRAM-SHA-256', (ch) => Buffer.from(c.final(ch.toString())), { initial: Buffer.from(c.first()) });
  assert.deepEqual(step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } });
  assert.match(readFileSync(logFile, 'utf8'), /stale@example\.test has no SCRAM-SHA-256 secret yet/);
});

test('a mechanism enabled later: the first PLAIN login makes its secret, then it works', { timeout: 30000 }, async () => {
  const before = configWith(['PLAIN', 'LOGIN']);
  await setPassword(before, store, secrets, 'later@example.test', 'later-pw', true);
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM sasl_secrets s JOIN users u ON u.id = s.user_id WHERE u.address = 'later@example.test'").get() as { n: number }).n, 0, 'no secret for disabled mechanisms');
  const c0 = new ScramClient('SCRAM-SHA-1', 'later@example.test', 'later-pw');
  assert.equal((await exchange(config, 'SCRAM-SHA-1', (ch) => Buffer.from(c0.final(ch.toString())), { initial: Buffer.from(c0.first()) })).step.kind, 'done');
  await exchange(config, 'PLAIN', () => Buffer.alloc(0), { initial: Buffer.from('\0later@example.test\0later-pw') });
  const c = new ScramClient('SCRAM-SHA-1', 'later@example.test', 'later-pw');
  const { step } = await exchange(config, 'SCRAM-SHA-1', (ch, round) => (round === 0 ? Buffer.from(c.final(ch.toString())) : Buffer.alloc(0)), { initial: Buffer.from(c.first()) });
  assert.deepEqual(step, { kind: 'done', outcome: { ok: true, user: 'later@example.test' } });
});

test('throttling: per client address even with the right password; an account under attack refuses only the addresses that failed at it, never its owner elsewhere', { timeout: 30000 }, async () => {
  const cfg = configWith(ALL, 2);
  const auth = makeAuthenticator(cfg, store, secrets, log);
  const cram = (pw: string) => (ch: Buffer) => Buffer.from(`usr@example.test ${createHmac('md5', pw).update(ch).digest('hex')}`);
  for (let i = 0; i < 2; i++) assert.deepEqual((await exchange(cfg, 'CRAM-MD5', cram('bad'), { auth, clientAddress: '198.51.100.1' })).step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } });
  assert.deepEqual((await exchange(cfg, 'CRAM-MD5', cram(PASSWORD), { auth, clientAddress: '198.51.100.1' })).step, { kind: 'done', outcome: { ok: false, reason: 'throttled' } });
  assert.deepEqual((await exchange(cfg, 'CRAM-MD5', cram(PASSWORD), { auth, clientAddress: '198.51.100.2' })).step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } }, 'another client is not affected');
  // The account: 4 x limit failures from different addresses (the 2 above count too), each address under its own limit.
  for (let i = 0; i < 6; i++) await exchange(cfg, 'PLAIN', () => Buffer.alloc(0), { auth, clientAddress: `203.0.113.${i + 1}`, initial: Buffer.from('\0usr@example.test\0guess' + i) });
  const scram = (from: string) => {
    const c = new ScramClient('SCRAM-SHA-256', 'usr@example.test', PASSWORD);
    return exchange(cfg, 'SCRAM-SHA-256', (ch, round) => (round === 0 ? Buffer.from(c.final(ch.toString())) : Buffer.alloc(0)), { auth, clientAddress: from, initial: Buffer.from(c.first()) });
  };
  assert.deepEqual((await scram('203.0.113.1')).step, { kind: 'done', outcome: { ok: false, reason: 'throttled' } }, 'an address that failed at the account under attack waits for its failures to age');
  assert.deepEqual((await scram('203.0.113.200')).step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } }, 'the owner from an address that has not failed gets in');
  const text = readFileSync(logFile, 'utf8');
  assert.match(text, /auth failed: service=submission, mechanism=CRAM-MD5, user=usr@example\.test, client=198\.51\.100\.1/);
  assert.match(text, /auth failed: service=submission, mechanism=PLAIN, user=usr@example\.test, client=203\.0\.113\.6/);
  assert.match(text, /auth throttled: mechanism=SCRAM-SHA-256, user=usr@example\.test, client=203\.0\.113\.1\n/);
});

test('throttling counts an IPv6 client per /64: stepping to another address of the same /64 does not buy more guesses; an IPv4-mapped address is its IPv4 address', { timeout: 30000 }, async () => {
  const cfg = configWith(ALL, 2);
  const auth = makeAuthenticator(cfg, store, secrets, log);
  const plain = (from: string, pw: string) => exchange(cfg, 'PLAIN', () => Buffer.alloc(0), { auth, clientAddress: from, initial: Buffer.from(`\0usr@example.test\0${pw}`) });
  assert.deepEqual((await plain('2001:db8:1:2::1', 'bad')).step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } });
  assert.deepEqual((await plain('2001:db8:1:2:ffff::9', 'bad')).step, { kind: 'done', outcome: { ok: false, reason: 'bad-credentials' } });
  assert.deepEqual((await plain('2001:0db8:0001:0002::77', PASSWORD)).step, { kind: 'done', outcome: { ok: false, reason: 'throttled' } });
  assert.deepEqual((await plain('2001:db8:1:3::1', PASSWORD)).step, { kind: 'done', outcome: { ok: true, user: 'usr@example.test' } }, 'the next /64 is another client');
  for (let i = 0; i < 2; i++) await plain('::ffff:198.51.100.77', 'bad');
  assert.deepEqual((await plain('198.51.100.77', PASSWORD)).step, { kind: 'done', outcome: { ok: false, reason: 'throttled' } });
});

test('offered mechanisms: no PLAIN/LOGIN without TLS unless allowed (S18 A p); the default for a service that passes no list is PLAIN LOGIN', () => {
  assert.deepEqual(offeredMechanisms(false, false, ALL), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'DIGEST-MD5', 'CRAM-MD5']);
  assert.deepEqual(offeredMechanisms(true, false, ALL), ['SCRAM-SHA-256', 'SCRAM-SHA-1', 'DIGEST-MD5', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
  assert.deepEqual(offeredMechanisms(false, true, ['PLAIN']), ['PLAIN']);
  assert.deepEqual(offeredMechanisms(true, false), ['PLAIN', 'LOGIN']);
  assert.deepEqual(offeredMechanisms(false, false), []);
  assert.deepEqual(loadConfig(join(dir, 'correo-6-3.toml')).auth.mechanisms, ALL);
  writeFileSync(join(dir, 'default.toml'), `hostname = "h.example.test"\n`);
  assert.deepEqual(loadConfig(join(dir, 'default.toml')).auth.mechanisms, ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'], 'weaker-secret mechanisms are off by default');
  writeFileSync(join(dir, 'bad.toml'), `hostname = "h.example.test"\n[auth]\nmechanisms = ["PLAIN", "GSSAPI"]\n`);
  assert.throws(() => loadConfig(join(dir, 'bad.toml')), /bad\.toml:3: unknown SASL mechanism "GSSAPI"/);
});
