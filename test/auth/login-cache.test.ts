/**
 * The login cache (issue 8): a verified login skips scrypt for `[auth] cache_ttl` seconds,
 * only while the stored password hash is the one it was verified against. The cache itself
 * with a clock of its own; then through IMAP sessions of real servers, with `correo user
 * passwd` and `correo user del` run from the command line while the server runs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginCache } from '../../src/auth/login-cache.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { Imap } from '../imap/client.js';

test('LoginCache: a hit needs the same account, password and stored hash, within the TTL; ttl 0 turns it off', () => {
  const c = new LoginCache(60_000);
  const t0 = 1_000_000;
  assert.equal(c.hit('a@x.test', 'pw', 'H1', t0), false, 'nothing remembered yet');
  c.remember('a@x.test', 'pw', 'H1', t0);
  assert.equal(c.hit('a@x.test', 'pw', 'H1', t0 + 59_999), true);
  assert.equal(c.hit('a@x.test', 'other', 'H1', t0 + 1), false, 'another password');
  assert.equal(c.hit('b@x.test', 'pw', 'H1', t0 + 1), false, 'another account');
  assert.equal(c.hit('a@x.test', 'pw', 'H1', t0 + 60_000), false, 'expired at the TTL');
  assert.equal(c.hit('a@x.test', 'pw', 'H1', t0 + 1), false, 'an expired entry is dropped, not kept for later');
  c.remember('a@x.test', 'pw', 'H1', t0);
  assert.equal(c.hit('a@x.test', 'pw', 'H2', t0 + 1), false, 'the stored hash changed: the password was changed');
  assert.equal(c.hit('a@x.test', 'pw', 'H1', t0 + 2), false, 'and the entry is gone');
  const off = new LoginCache(0);
  off.remember('a@x.test', 'pw', 'H1', t0);
  assert.equal(off.hit('a@x.test', 'pw', 'H1', t0), false);
  const small = new LoginCache(60_000, 2);
  for (const u of ['1', '2', '3']) small.remember(u, 'pw', 'H', t0);
  assert.deepEqual(['1', '2', '3'].map((u) => small.hit(u, 'pw', 'H', t0)), [false, true, true], 'bounded: the oldest entry goes first');
});

async function login(server: TestServer, user: string, pass: string): Promise<string> {
  const c = await Imap.open(server.ports.imap);
  try {
    return (await c.cmd(`LOGIN ${user} ${pass}`, 20_000)).tagged;
  } finally {
    c.close();
  }
}

const cachedHits = (server: TestServer, user: string) => server.readLog().split('\n').filter((l) => l.includes(`auth ok: service=imap, user=${user}, client=`) && l.endsWith(', cached')).length;

test('IMAP: a second login is served from the cache; "correo user passwd" from the command line ends it at once, "correo user del" too', { timeout: 240_000 }, async () => {
  const server = await startServer({ toml: '[auth]\nplaintext_without_tls = true\n' });
  try {
    const u = 'usr@example.test';
    await server.addUser(u, 'old-password');
    assert.match(await login(server, u, 'old-password'), /^A\d+ OK/);
    assert.equal(cachedHits(server, u), 0, 'the first login runs scrypt');
    assert.match(await login(server, u, 'old-password'), /^A\d+ OK/);
    assert.equal(cachedHits(server, u), 1, 'the second is a cache hit');
    assert.match(await login(server, u, 'wrong'), /^A\d+ NO \[AUTHENTICATIONFAILED\]/);

    const r = await server.cli(['user', 'passwd', u, '--password-stdin'], 'new-password\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(await login(server, u, 'old-password'), /^A\d+ NO \[AUTHENTICATIONFAILED\]/, 'the old password stops working at once (the TTL is 60 s)');
    assert.match(await login(server, u, 'new-password'), /^A\d+ OK/);
    assert.match(await login(server, u, 'new-password'), /^A\d+ OK/);
    assert.equal(cachedHits(server, u), 2, 'the new password is cached in turn');

    const d = await server.cli(['user', 'del', u]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(await login(server, u, 'new-password'), /^A\d+ NO \[AUTHENTICATIONFAILED\]/, 'a deleted user is not logged in from the cache');
  } finally {
    await server.stop();
  }
});

test('IMAP: with cache_ttl = 3 a cached login expires after 3 seconds and runs scrypt again', { timeout: 240_000 }, async () => {
  const server = await startServer({ toml: '[auth]\nplaintext_without_tls = true\ncache_ttl = 3\n' });
  try {
    const u = 'usr@example.test';
    await server.addUser(u, 'pw-1');
    const start = Date.now();
    assert.match(await login(server, u, 'pw-1'), /^A\d+ OK/);
    const verifiedAt = Date.now();
    const logins = () => server.readLog().split('\n').filter((l) => l.includes(`auth ok: service=imap, user=${u}, client=`));
    // Log in until one is not a cache hit: that must be after the TTL, and not much later.
    for (;;) {
      assert.match(await login(server, u, 'pw-1'), /^A\d+ OK/);
      const last = logins().at(-1)!;
      if (!last.endsWith(', cached')) break;
      assert.ok(Date.now() - start < 30_000, 'the cached login never expired');
      // Paced: a connection per login as fast as the server answers would pass the
      // per-address rate of new connections ([imap] max_connection_rate) within the TTL.
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(Date.now() - start >= 3000, 'not before the TTL');
    assert.ok(logins().some((l) => l.endsWith(', cached')), `at least one hit within the TTL (first login took ${verifiedAt - start} ms)`);
  } finally {
    await server.stop();
  }
});
