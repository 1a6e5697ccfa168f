import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor, waitForLog } from '../helpers/wait.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { storedMessages } from '../smtp/client.js';
import { SEED_ACCESS_FILE } from '../maps/fixtures.js';
import { codes, message, swaks, talk } from './smtp.js';
import { needs } from '../helpers/peers.js';

/**
 * S25 the access map through real SMTP sessions: the seed's file as written, and each value
 * (REJECT, ERROR in both forms, RELAY, OK, DISCARD, SKIP) and tag on loopback addresses, with
 * and without delay_checks; blacklist_recipients; reload with a mistake.
 */

const maps = mkdtempSync(join(tmpdir(), 'correo-access-'));
// Re-read after start by a server that dropped root: the directory must be open to it, as /etc/mail is.
chmodSync(maps, 0o755);
let seed: TestServer;
let plain: TestServer;
let delayed: TestServer;

const LOOPBACK_ACCESS = `# loopback clients stand in for the Internet
127.0.0.5               REJECT
Connect:127.0.0.6       ERROR:5.7.1:550 Go away, 127.0.0.6
127.0.1.                RELAY      # a network that may relay
127.0.2.0/24            OK
127.0.2.9               SKIP
From:spam@remote.test   ERROR:"553 5.7.1 Not you again"
From:drop@remote.test   DISCARD
From:<>                 OK
To:blocked@example.test REJECT
To:relay.test           RELAY
gone.test               ERROR:5.1.2:550 That domain is gone
`;

test.before(async () => {
  copyFileSync(SEED_ACCESS_FILE, join(maps, 'seed-access'));
  writeFileSync(join(maps, 'access'), LOOPBACK_ACCESS);
  writeFileSync(join(maps, 'delayed-access'), '127.0.0.5 REJECT\nSpam:postmaster@example.test FRIEND\nTo:abuse@example.test OK\n');
  [seed, plain, delayed] = await Promise.all([
    startServer({ toml: `[maps]\naccess = "${join(maps, 'seed-access')}"\n` }),
    startServer({ toml: `[maps]\naccess = "${join(maps, 'access')}"\n[policy]\ndelay_checks = false\n` }),
    startServer({ toml: `[maps]\naccess = "${join(maps, 'delayed-access')}"\n[policy]\ndelay_checks = true\n` }),
  ]);
  for (const s of [seed, plain, delayed]) {
    await s.addUser('usr@example.test', 'pw-usr-1');
    await s.addUser('admin@example.test', 'pw-admin-1');
    await s.addUser('abuse@example.test', 'pw-abuse-1');
    await s.addUser('blocked@example.test', 'pw-blocked-1');
  }
});
test.after(async () => {
  await Promise.all([seed?.stop(), plain?.stop(), delayed?.stop()]);
  rmSync(maps, { recursive: true, force: true });
});

test('the seed access file: usuario@molesto.com and productoinutil.com.mx refused (delay_checks: at RCPT), others pass', { timeout: 60000, ...needs('swaks') }, async () => {
  const r = await swaks(['--server', `127.0.0.1:${seed.ports.smtp}`, '--from', 'usuario@molesto.com', '--to', 'usr@example.test', '--helo', 'client.test']);
  assert.notEqual(r.code, 0);
  assert.match(r.out, /<- +250 2\.1\.0 Ok\n[^]*<\*\* +550 5\.7\.1 Access denied/, 'MAIL accepted, RCPT refused (delay_checks)');
  const sub = await talk(seed.ports.smtp, '127.0.0.1', ['EHLO client.test', 'MAIL FROM:<ventas@mx.productoinutil.com.mx>', 'RCPT TO:<usr@example.test>']);
  assert.deepEqual(codes(sub).slice(2), ['250 2.1.0 Ok', '550 5.7.1 Access denied'], 'a subdomain of a listed domain');
  const ok = await swaks(['--server', `127.0.0.1:${seed.ports.smtp}`, '--from', 'otro@molesto.com', '--to', 'usr@example.test', '--helo', 'client.test']);
  assert.equal(ok.code, 0, ok.out);
  await waitForLog(seed.readLog, /policy: rcpt from unknown\[127\.0\.0\.1\] from=<usuario@molesto\.com> to=<usr@example\.test>: 550 5\.7\.1 Access denied \[mail access: reject: \S+seed-access:5: usuario@molesto\.com REJECT/, 10_000);
});

test('the seed access file: the network and host RELAY lines and the 10.4.5.6 REJECT, explained by correo policy check', { timeout: 60000 }, async () => {
  const subnet = await seed.cli(['policy', 'check', '--from', 'a@b.test', '--to', 'x@remote.test', '--ip', '20.20.128.77']);
  assert.equal(subnet.code, 0, subnet.stdout + subnet.stderr);
  assert.match(subnet.stdout, /connect access: relay: \S+seed-access:1: 20\.20\.128\. RELAY\n/);
  assert.match(subnet.stdout, /verdict: accepted: 250 2\.1\.5 Ok/);
  const host = await seed.cli(['policy', 'check', '--from', 'a@b.test', '--to', 'x@remote.test', '--ip', '20.20.139.231']);
  assert.equal(host.code, 0);
  assert.match(host.stdout, /seed-access:3: 20\.20\.139\.231 RELAY/);
  const neighbour = await seed.cli(['policy', 'check', '--from', 'a@b.test', '--to', 'x@remote.test', '--ip', '20.20.139.232']);
  assert.equal(neighbour.code, 1);
  assert.match(neighbour.stdout, /verdict: refused at RCPT: 550 5\.7\.1 <x@remote\.test>: Relay access denied\n$/);
  const bad = await seed.cli(['policy', 'check', '--from', 'a@b.test', '--to', 'usr@example.test', '--ip', '10.4.5.6']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /connect access: reject: \S+seed-access:7: 10\.4\.5\.6 REJECT\n[^]*verdict: refused at RCPT: 550 5\.7\.1 Access denied/);
  const sender = await seed.cli(['policy', 'check', '--from', 'usuario@molesto.com', '--to', 'usr@example.test', '--ip', '192.0.2.1']);
  assert.equal(sender.code, 1);
  assert.match(sender.stdout, /mail access: reject: \S+seed-access:5: usuario@molesto\.com REJECT/);
});

test('without delay_checks a refused client hears it at every command but QUIT/NOOP/RSET', { timeout: 60000 }, async () => {
  const r = await talk(plain.ports.smtp, '127.0.0.5', ['EHLO client.test', 'MAIL FROM:<a@remote.test>', 'NOOP', 'RSET', 'QUIT']);
  assert.deepEqual(codes(r).slice(1), ['550 5.7.1 Access denied', '550 5.7.1 Access denied', '250 2.0.0 Ok', '250 2.0.0 Ok', '221 2.0.0 Bye']);
  const e = await talk(plain.ports.smtp, '127.0.0.6', ['HELO client.test']);
  assert.equal(codes(e)[1], '550 5.7.1 Go away, 127.0.0.6', 'ERROR:5.7.1:550 text');
});

test('Connect RELAY (a network) may relay; OK and SKIP do not; others are refused relaying', { timeout: 60000 }, async () => {
  const steps = ['EHLO client.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<someone@elsewhere.test>'];
  assert.equal(codes(await talk(plain.ports.smtp, '127.0.1.9', steps))[3], '250 2.1.5 Ok');
  assert.equal(codes(await talk(plain.ports.smtp, '127.0.2.3', steps))[3], '550 5.7.1 <someone@elsewhere.test>: Relay access denied');
  assert.equal(codes(await talk(plain.ports.smtp, '127.0.2.9', steps))[3], '550 5.7.1 <someone@elsewhere.test>: Relay access denied');
  assert.equal(codes(await talk(plain.ports.smtp, '127.0.0.1', steps))[3], '550 5.7.1 <someone@elsewhere.test>: Relay access denied');
  // To:relay.test RELAY: anyone may send to that domain through us (a backup MX).
  const to = await talk(plain.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<x@relay.test>', 'RCPT TO:<x@sub.relay.test>']);
  assert.deepEqual(codes(to).slice(3), ['250 2.1.5 Ok', '250 2.1.5 Ok']);
});

test('From: ERROR with a quoted reply, DISCARD, From:<> OK; To: REJECT with blacklist_recipients; domain ERROR', { timeout: 60000 }, async () => {
  const spam = await talk(plain.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<spam@remote.test>']);
  assert.equal(codes(spam)[2], '553 5.7.1 Not you again');
  const before = storedMessages(plain.dir).length;
  const drop = await talk(plain.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<drop@remote.test>', 'RCPT TO:<usr@example.test>', 'DATA', message('drop@remote.test', 'usr@example.test', 'discard me')]);
  assert.match(codes(drop)[5], /^250 2\.0\.0 Ok: queued as [A-Z0-9]+$/, 'DISCARD answers like a delivery');
  // The discard is logged once the message is settled: nothing can be stored after that line.
  await waitForLog(plain.readLog, /discarded: from=<drop@remote\.test>/, 10_000);
  assert.equal(storedMessages(plain.dir).length, before, 'nothing was kept');
  const bounce = await talk(plain.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<>', 'RCPT TO:<usr@example.test>']);
  assert.deepEqual(codes(bounce).slice(2), ['250 2.1.0 Ok', '250 2.1.5 Ok']);
  const blocked = await talk(plain.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<blocked@example.test>', 'RCPT TO:<usr@example.test>']);
  assert.deepEqual(codes(blocked).slice(3), ['550 5.2.1 <blocked@example.test>: Mailbox disabled for this recipient', '250 2.1.5 Ok']);
  const gone = await talk(plain.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<x@gone.test>']);
  assert.equal(codes(gone)[2], '550 5.1.2 That domain is gone');
});

test('delay_checks: a refused client is told at RCPT, and a FRIEND or To: OK recipient still gets its mail', { timeout: 60000 }, async () => {
  const r = await talk(delayed.ports.smtp, '127.0.0.5', [
    'EHLO client.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'RCPT TO:<postmaster@example.test>', 'RCPT TO:<abuse@example.test>',
    'DATA', message('a@remote.test', 'postmaster@example.test', 'friend'),
  ]);
  assert.deepEqual(codes(r).slice(1, 7).map((l) => l.slice(0, 3)), ['250', '250', '550', '250', '250', '354']);
  assert.equal(codes(r)[3], '550 5.7.1 Access denied');
  assert.match(codes(r)[7], /^250 2\.0\.0 Ok: queued as/);
});

test('the access file is re-read on change; a mistake is logged as FILE:LINE and the last good version stays', { timeout: 60000 }, async () => {
  const file = join(maps, 'access');
  writeFileSync(file, LOOPBACK_ACCESS + '127.0.0.7 REJECT\n127.0.0.8 PERHAPS\n');
  utimesSync(file, new Date(), new Date(Date.now() + 5000));
  // The file is looked at (on use, at most once a second): connect until the log says it was
  // read and refused, instead of sleeping past the second.
  const broken = new RegExp(`access: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:14: unknown value "PERHAPS"`);
  await waitFor(async () => {
    await talk(plain.ports.smtp, '127.0.0.7', ['EHLO c.test']);
    return broken.test(plain.readLog());
  }, { timeout: 10_000, interval: 200, describe: () => `${broken} in the log; its last lines:\n${plain.readLog().split('\n').slice(-10).join('\n')}` });
  const still = await talk(plain.ports.smtp, '127.0.0.7', ['EHLO c.test']);
  assert.match(codes(still)[1], /^250 /, 'the broken file is not used');
  writeFileSync(file, LOOPBACK_ACCESS + '127.0.0.7 REJECT\n');
  utimesSync(file, new Date(), new Date(Date.now() + 10000));
  let seen = '';
  await waitFor(async () => (seen = codes(await talk(plain.ports.smtp, '127.0.0.7', ['EHLO c.test']))[1]) === '550 5.7.1 Access denied', {
    timeout: 10_000, interval: 200, describe: () => `the fixed file to be used (127.0.0.7 refused); the last EHLO got "${seen}"`,
  });
  assert.equal(codes(await talk(plain.ports.smtp, '127.0.0.7', ['EHLO c.test']))[1], '550 5.7.1 Access denied');
});
