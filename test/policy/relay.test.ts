import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, type TestDns } from '../helpers/dns.js';
import { codes, talk } from './smtp.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

/**
 * No open relay, ever (DESIGN.md): the classic tricks, none of which may be accepted for a
 * remote destination; and the legitimate reasons to relay: S26 relay-domains (to a domain, from
 * a client network) and relay_based_on_MX.
 */

const maps = mkdtempSync(join(tmpdir(), 'correo-relay-'));
let server: TestServer;
let dns: TestDns;

test.before(async () => {
  if (skip) return;
  writeFileSync(join(maps, 'relay-domains'), '# the seed writes "dominio.com.uy RELAY"\nbackup.test RELAY\n127.0.3.\n');
  dns = await startDns([
    '--mx-host=mxed.test,mail.example.test,10',
    '--mx-host=notus.test,mx.elsewhere.test,10',
    '--local=/remote.test/',
  ]);
  server = await startServer({
    dns,
    toml: `[maps]\nrelay_domains = "${join(maps, 'relay-domains')}"\n[policy]\nrelay_based_on_mx = true\n`,
  });
  await server.addUser('user@example.test', 'pw-user-1');
  await server.addUser('admin@example.test', 'pw-admin-1');
});
test.after(async () => {
  await server?.stop();
  await dns?.stop();
  rmSync(maps, { recursive: true, force: true });
});

/** [RCPT argument, why it must not be relayed]. */
const TRICKS: [string, string][] = [
  ['<user@remote.test>', 'plain relay attempt'],
  ['<user%remote.test@example.test>', '% hack: a local part nobody has'],
  ['<"user@remote.test"@example.test>', 'quoted @ in the local part'],
  ['<"user%remote.test"@example.test>', 'quoted % hack'],
  ['<@example.test:user@remote.test>', 'source route through us'],
  ['<@example.test,@mail.example.test:user@remote.test>', 'two-hop source route'],
  ['<remote.test!user@example.test>', 'UUCP bang path in the local part'],
  ['<remote.test!user>', 'bang path without a domain'],
  ['<user%remote.test>', '% hack without a domain'],
  ['<user@remote.test@example.test>', 'two @'],
  ['<user@example.test@remote.test>', 'two @, the other way'],
  ['<user@remote.test.>', 'trailing dot'],
  ['<user@[127.0.0.1]>', 'our own address literal'],
  ['<user@[IPv6:::1]>', 'an IPv6 literal'],
  ['<user@example.test.remote.test>', 'our domain as a prefix'],
  ['<user@localhost>', 'localhost'],
  ['<USER@REMOTE.TEST>', 'upper case'],
  ['user@remote.test', 'no angle brackets'],
  ['<user@remote.test> NOTIFY=NEVER', 'with a parameter'],
  ['<user\\@remote.test@example.test>', 'escaped @'],
];

test('open relay battery: none of the classic tricks is accepted for a remote destination', { timeout: 90000, skip }, async () => {
  // One session per trick: a client collecting refusals is cut off after smtp.max_errors.
  for (const from of ['127.0.0.1', '127.0.9.9']) {
    for (const [arg, why] of TRICKS) {
      const r = await talk(server.ports.smtp, from, ['EHLO attacker.test', 'MAIL FROM:<spammer@remote.test>', `RCPT TO:${arg}`]);
      const rcpt = r[3];
      assert.equal(r[2].code, 250);
      assert.ok(rcpt.code >= 500 && rcpt.code < 600, `${why}: RCPT TO:${arg} -> ${rcpt.raw.trim()}`);
      if (rcpt.code === 550) assert.match(rcpt.lines[0], /^550 5\.(7\.1|1\.1) /, `${why}: ${rcpt.raw.trim()}`);
    }
  }
  const queue = await server.cli(['queue', 'list']);
  assert.doesNotMatch(queue.stdout, /remote\.test/, 'nothing waits for a remote destination');
});

test('relay-domains: mail to a listed domain (and its subdomains) is accepted from anyone, others not', { timeout: 60000, skip }, async () => {
  const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<x@backup.test>', 'RCPT TO:<x@mx1.backup.test>', 'RCPT TO:<x@notbackup.test>']);
  assert.deepEqual(codes(r).slice(3), ['250 2.1.5 Ok', '250 2.1.5 Ok', '550 5.7.1 <x@notbackup.test>: Relay access denied']);
});

test('relay-domains: a client in a listed network may relay anywhere', { timeout: 60000, skip }, async () => {
  const r = await talk(server.ports.smtp, '127.0.3.4', ['EHLO c.test', 'MAIL FROM:<a@example.test>', 'RCPT TO:<x@anywhere.test>']);
  assert.equal(codes(r)[3], '250 2.1.5 Ok');
  const outside = await talk(server.ports.smtp, '127.0.4.4', ['EHLO c.test', 'MAIL FROM:<a@example.test>', 'RCPT TO:<x@anywhere.test>']);
  assert.equal(codes(outside)[3], '550 5.7.1 <x@anywhere.test>: Relay access denied');
});

test('relay_based_on_MX: relay for a domain whose MX is this host, not for others', { timeout: 60000, skip }, async () => {
  const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<x@mxed.test>', 'RCPT TO:<x@notus.test>']);
  assert.deepEqual(codes(r).slice(3), ['250 2.1.5 Ok', '550 5.7.1 <x@notus.test>: Relay access denied']);
  const why = await server.cli(['policy', 'check', '--from', 'a@remote.test', '--to', 'x@mxed.test', '--ip', '192.0.2.1']);
  assert.equal(why.code, 0, why.stdout);
  assert.match(why.stdout, /rcpt relay: relay: an MX of mxed\.test is this host \(relay_based_on_mx\)/);
  await sleep(10);
});
