/**
 * Logging in: USER/PASS (RFC 1939 7) and AUTH PLAIN (RFC 5034), refused without TLS unless the
 * admin allows it (S18 `A p`), -ERR [AUTH] on a wrong password (RFC 3206), throttled per client
 * address, a bare local part accepted on a one-domain server.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { digestResponse, parseDirectives } from '../../src/auth/sasl-digest.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { python, RawClient } from './helpers.js';
import { needs } from '../helpers/peers.js';

let server: TestServer;

before(async () => {
  server = await startServer();
  await server.addUser('usr1@example.test', 'secret1');
  await server.addUser('victim@example.test', 'right-password');
});

after(async () => {
  await server?.stop();
});

const plain = (authz: string, user: string, pass: string) => Buffer.from(`${authz}\0${user}\0${pass}`).toString('base64');

/** A raw session on the plain port, upgraded with STLS. */
async function stlsClient(localAddress?: string): Promise<RawClient> {
  const c = await RawClient.connect(server.ports.pop3, { localAddress });
  assert.equal(await c.line(), '+OK mail.example.test Correo POP3 server ready');
  assert.equal(await c.cmd('STLS'), '+OK Begin TLS negotiation');
  await c.upgrade();
  return c;
}

test('before STLS: CAPA offers STLS, no USER, only the non-plaintext SASL mechanism (SCRAM), and plaintext logins are refused', { timeout: 60000, ...needs('python3') }, async () => {
  const r = await python(server, `
p = connect('plain')
capa = p.capa()
res = {}
try:
    p.user('usr1@example.test'); res['user'] = 'ok'
except poplib.error_proto as e:
    res['user'] = err(e)
try:
    p.pass_('secret1'); res['pass'] = 'ok'
except poplib.error_proto as e:
    res['pass'] = err(e)
try:
    res['auth'] = p._shortcmd('AUTH PLAIN ' + ${JSON.stringify(plain('', 'usr1@example.test', 'secret1'))}).decode()
except poplib.error_proto as e:
    res['auth'] = err(e)
try:
    p.stat(); res['stat'] = 'ok'
except poplib.error_proto as e:
    res['stat'] = err(e)
p.stls(context=CTX)
res['capaTls'] = p.capa()
p.user('usr1@example.test')
res['login'] = p.pass_('secret1').decode()
p.quit()
res['capa'] = capa
out(res)
`);
  assert.ok('STLS' in r.capa, JSON.stringify(r.capa));
  assert.ok(!('USER' in r.capa), 'USER not advertised without TLS');
  assert.deepEqual(r.capa.SASL, ['SCRAM-SHA-256'], 'no plaintext SASL mechanism without TLS (S18 A p); SCRAM never shows the password');
  for (const k of ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING']) assert.ok(k in r.capa, k);
  assert.deepEqual(r.capa.IMPLEMENTATION, ['Correo']);
  assert.equal(r.user, '-ERR [AUTH] Plaintext authentication disallowed without TLS');
  assert.equal(r.pass, '-ERR [AUTH] Plaintext authentication disallowed without TLS');
  assert.equal(r.auth, '-ERR [AUTH] Plaintext authentication disallowed without TLS');
  assert.equal(r.stat, '-ERR Command not valid in this state');
  assert.ok('USER' in r.capaTls && !('STLS' in r.capaTls), JSON.stringify(r.capaTls));
  assert.deepEqual(r.capaTls.SASL, ['SCRAM-SHA-256', 'PLAIN', 'LOGIN']);
  assert.match(r.login, /^\+OK Maildrop has 0 messages \(0 octets\)$/);
});

test('a wrong password gets -ERR [AUTH]; an unknown user gets the same answer', { timeout: 60000, ...needs('python3') }, async () => {
  const r = await python(server, `
res = []
for user, pw in [('usr1@example.test', 'wrong'), ('nobody@example.test', 'secret1')]:
    p = connect('tls')
    p.user(user)
    try:
        p.pass_(pw); res.append('ok')
    except poplib.error_proto as e:
        res.append(err(e))
    p.quit()
out(res)
`);
  assert.deepEqual(r, ['-ERR [AUTH] Authentication failed', '-ERR [AUTH] Authentication failed']);
  assert.match(server.readLog(), /auth failed: service=pop3, user=usr1@example\.test, client=127\.0\.0\.1/);
});

test('repeated failures from one address are throttled with [SYS/TEMP], even with the right password; other addresses are not', { timeout: 60000 }, async () => {
  // From 127.0.0.9, so that the other tests (from 127.0.0.1) are not throttled. The default limit is 5.
  const c = await stlsClient('127.0.0.9');
  try {
    for (let i = 0; i < 5; i++) {
      assert.match(await c.cmd('USER victim@example.test'), /^\+OK/);
      assert.equal(await c.cmd(`PASS guess${i}`), '-ERR [AUTH] Authentication failed');
    }
    assert.match(await c.cmd('USER victim@example.test'), /^\+OK/);
    assert.equal(await c.cmd('PASS right-password'), '-ERR [SYS/TEMP] Too many failures; try later');
    assert.equal(await c.cmd(`AUTH PLAIN ${plain('', 'victim@example.test', 'right-password')}`), '-ERR [SYS/TEMP] Too many failures; try later');
  } finally {
    c.destroy();
  }
  const other = await stlsClient('127.0.0.10');
  try {
    assert.match(await other.cmd('USER victim@example.test'), /^\+OK/);
    assert.match(await other.cmd('PASS right-password'), /^\+OK Maildrop has/);
    assert.match(await other.cmd('QUIT'), /^\+OK/);
  } finally {
    other.destroy();
  }
});

test('AUTH PLAIN with an initial response, with a "+ " continuation, and cancelled with "*" (RFC 5034)', { timeout: 60000 }, async () => {
  const c = await stlsClient();
  try {
    // Cancelled: "*" gets -ERR and the session is still in AUTHORIZATION.
    assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
    assert.equal(await c.cmd('*'), '-ERR Authentication cancelled');
    // Not base64.
    assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
    assert.match(await c.cmd('not base64!'), /^-ERR Invalid authentication response/);
    // Wrong password through SASL.
    assert.equal(await c.cmd(`AUTH PLAIN ${plain('', 'usr1@example.test', 'nope')}`), '-ERR [AUTH] Authentication failed');
    // Unknown mechanism.
    assert.equal(await c.cmd('AUTH CRAM-MD5'), '-ERR Unrecognized authentication type');
    // Continuation, with the bare local part (one local domain): logged in.
    assert.equal(await c.cmd('AUTH PLAIN'), '+ ');
    assert.match(await c.cmd(plain('', 'usr1', 'secret1')), /^\+OK Maildrop has \d+ messages/);
    assert.match(await c.cmd('STAT'), /^\+OK \d+ \d+$/);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  } finally {
    c.destroy();
  }
  const d = await RawClient.connect(server.ports.pop3s, { tls: true });
  try {
    await d.line();
    assert.match(await d.cmd(`AUTH PLAIN ${plain('usr1@example.test', 'usr1@example.test', 'secret1')}`), /^\+OK Maildrop has/);
    assert.match(await d.cmd('QUIT'), /^\+OK/);
  } finally {
    d.destroy();
  }
  assert.match(server.readLog(), /login: user=usr1@example\.test, client=127\.0\.0\.1, method=PLAIN, tls=yes/);
});

test('a bare local part works with USER/PASS too', { timeout: 60000, ...needs('python3') }, async () => {
  const r = await python(server, `
p = login('tls', 'usr1', 'secret1')
n = p.stat()[0]
p.quit()
out({'n': n})
`);
  assert.equal(typeof r.n, 'number');
});

test('with plaintext_without_tls = true, USER/PASS and AUTH PLAIN work without TLS and CAPA says so', { timeout: 60000, ...needs('python3') }, async () => {
  const open = await startServer({ toml: '[auth]\nplaintext_without_tls = true\n' });
  try {
    await open.addUser('usr1@example.test', 'secret1');
    const r = await python(open, `
p = connect('plain')
capa = p.capa()
p.user('usr1@example.test')
login = p.pass_('secret1').decode()
p.quit()
q = connect('plain')
auth = q._shortcmd('AUTH PLAIN ' + ${JSON.stringify(plain('', 'usr1@example.test', 'secret1'))}).decode()
q.quit()
out({'capa': capa, 'login': login, 'auth': auth})
`);
    assert.ok('USER' in r.capa && 'STLS' in r.capa, JSON.stringify(r.capa));
    assert.deepEqual(r.capa.SASL, ['SCRAM-SHA-256', 'PLAIN', 'LOGIN']);
    assert.match(r.login, /^\+OK Maildrop has 0 messages/);
    assert.match(r.auth, /^\+OK Maildrop has 0 messages/);
    assert.match(open.readLog(), /login: user=usr1@example\.test, client=127\.0\.0\.1, method=USER, tls=no/);
  } finally {
    await open.stop();
  }
});

test('AUTH DIGEST-MD5 and CRAM-MD5 (when enabled): the challenge names this host, whose realm the stored secret was made for, and the user logs in', { timeout: 60000 }, async () => {
  const srv = await startServer({ toml: '[auth]\nmechanisms = ["DIGEST-MD5", "CRAM-MD5", "SCRAM-SHA-256", "PLAIN", "LOGIN"]\n' });
  try {
    await srv.addUser('usr1@example.test', 'secret1');
    const c = await RawClient.connect(srv.ports.pop3);
    try {
      await c.line();
      const ch = Buffer.from((await c.cmd('AUTH DIGEST-MD5')).slice(2), 'base64').toString();
      const d = parseDirectives(ch)!;
      assert.equal(d.get('realm'), 'mail.example.test');
      const v = { ha1: createHash('md5').update('usr1@example.test:mail.example.test:secret1').digest(), nonce: d.get('nonce')!, cnonce: 'c1c2', nc: '00000001', qop: 'auth', uri: 'pop/mail.example.test' };
      const resp = `username="usr1@example.test",realm="mail.example.test",nonce="${v.nonce}",cnonce="c1c2",nc=00000001,qop=auth,digest-uri="pop/mail.example.test",response=${digestResponse(v, 'client')}`;
      assert.match(await c.cmd(Buffer.from(resp).toString('base64')), /^\+ /, 'rspauth');
      assert.match(await c.cmd(''), /^\+OK Maildrop has 0 messages/);
    } finally {
      c.destroy();
    }
    const m = await RawClient.connect(srv.ports.pop3);
    try {
      await m.line();
      const ch = Buffer.from((await m.cmd('AUTH CRAM-MD5')).slice(2), 'base64').toString();
      assert.match(ch, /^<\d+\.\d+@mail\.example\.test>$/);
      assert.match(await m.cmd(Buffer.from(`usr1@example.test ${createHmac('md5', 'secret1').update(ch).digest('hex')}`).toString('base64')), /^\+OK Maildrop has 0 messages/);
    } finally {
      m.destroy();
    }
  } finally {
    await srv.stop();
  }
});
