import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, type TestDns } from '../helpers/dns.js';
import { startSink, type Sink } from '../helpers/sink.js';
import { RawSmtp } from '../smtp/client.js';
import { ScramClient } from '../auth/scram-client.js';
import { inbox, python, SMTPLIB, swaks, until } from './helpers.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

/**
 * Submission (S6, S18) with real clients: swaks, Python's smtplib, nodemailer and a SCRAM
 * client written from RFC 7677, over 587 with STARTTLS and 465 with implicit TLS. Mail to
 * remote.test goes out through the outbound queue to a capturing sink found by its MX
 * record (dnsmasq on loopback).
 */

const PW = 'usr-secret-1';
let server: TestServer;
let dns: TestDns;
let sink: Sink;
let dir: string;

test.before(async () => {
  if (skip) return;
  sink = await startSink();
  dns = await startDns(['--local=/test/', '--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`]);
  dir = mkdtempSync(join(tmpdir(), 'correo-sub-'));
  writeFileSync(join(dir, 'aliases'), 'sales: usr, admin\n');
  writeFileSync(join(dir, 'senders'), '# who may send as what\nusr@example.test: news@example.test\n');
  server = await startServer({
    dns,
    dir,
    toml: [
      '[auth]', 'mechanisms = ["PLAIN", "LOGIN", "CRAM-MD5", "SCRAM-SHA-256"]',
      '[pop3]', 'auth_fail_limit = 3',
      '[maps]', `aliases = "${join(dir, 'aliases')}"`,
      '[submission]', `senders_file = "${join(dir, 'senders')}"`,
      '[submission.allowed_senders]', '"usr@example.test" = ["@partner.test"]',
      '[outbound]', `port = ${sink.port}`, 'connect_timeout = 5',
    ].join('\n'),
  });
  await server.addUser('usr@example.test', PW);
  await server.addUser('admin@example.test', 'admin-secret-1');
  await server.addUser('victim@example.test', 'victim-secret-1');
});

test.after(async () => {
  await server?.stop();
  await dns?.stop();
  await sink?.close();
});

const message = (subject: string, from = 'usr@example.test', to = 'bob@remote.test') =>
  `From: Usr <${from}>\r\nTo: ${to}\r\nSubject: ${subject}\r\nDate: Fri, 27 Nov 2026 19:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@client.test>\r\n\r\nbody of ${subject}\r\n`;

function arrived(subject: string) {
  return until(`"${subject}" at the sink`, () => sink.messages.find((m) => m.data.toString().includes(`Subject: ${subject}\r\n`)), 30_000);
}

test('swaks over 587 STARTTLS and 465 TLS with PLAIN, LOGIN and CRAM-MD5: relayed to remote.test by MX', { timeout: 120_000, skip: skip || missingPeers('swaks') }, async () => {
  for (const [tls, port] of [['--tls', server.ports.submission], ['--tlsc', server.ports.submissions]] as const) {
    for (const mech of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      const subject = `swaks ${tls} ${mech}`;
      const r = await swaks(['--server', `127.0.0.1:${port}`, tls, '-a', mech, '-au', 'usr@example.test', '-ap', PW, '--from', 'usr@example.test', '--to', 'bob@remote.test', '--data', message(subject)]);
      assert.equal(r.code, 0, r.out);
      assert.match(r.out, /<~ +235 2\.7\.0 Authentication successful/);
      assert.match(r.out, /<~ +250 2\.0\.0 Ok: queued as \w+/);
      const m = await arrived(subject);
      assert.equal(m.from, 'usr@example.test');
      assert.deepEqual(m.rcpts.map((x) => x.address), ['bob@remote.test']);
      assert.match(m.data.toString(), /\r\n\tby mail\.example\.test \(Correo\) with ESMTPSA id /, 'RFC 3848: ESMTPSA');
    }
  }
  assert.match(server.readLog(), /sasl_method=CRAM-MD5, sasl_username=usr@example\.test/);
});

test('Python smtplib: CRAM-MD5 and LOGIN after starttls() on 587, PLAIN over SMTP_SSL on 465', { timeout: 60_000, skip: skip || missingPeers('python3') }, async () => {
  for (const [mode, port, mech] of [['starttls', server.ports.submission, 'CRAM-MD5'], ['starttls', server.ports.submission, 'LOGIN'], ['ssl', server.ports.submissions, 'PLAIN']] as const) {
    const subject = `smtplib ${mode} ${mech}`;
    const out = await python(SMTPLIB, [mode, String(port), mech, 'usr@example.test', PW, 'usr@example.test', 'bob@remote.test', message(subject)]);
    assert.equal(out.trim(), '235 sent');
    await arrived(subject);
  }
});

test('nodemailer: 587 with requireTLS and 465 secure, PLAIN, LOGIN and CRAM-MD5', { timeout: 60_000, skip }, async () => {
  for (const [port, secure] of [[server.ports.submission, false], [server.ports.submissions, true]] as const) {
    for (const authMethod of ['PLAIN', 'LOGIN', 'CRAM-MD5']) {
      const subject = `nodemailer ${port} ${authMethod}`;
      const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure, requireTLS: !secure, tls: { rejectUnauthorized: false }, auth: { user: 'usr@example.test', pass: PW }, authMethod, connectionTimeout: 10_000 });
      try {
        const info = await t.sendMail({ envelope: { from: 'usr@example.test', to: ['bob@remote.test'] }, raw: message(subject) });
        assert.match(info.response, /^250 2\.0\.0 Ok: queued as /);
      } finally {
        t.close();
      }
      await arrived(subject);
    }
  }
});

/** SCRAM-SHA-256 on a raw connection, with our RFC 7677 client; returns the client for more commands. */
async function scramLogin(c: RawSmtp, user: string, password: string): Promise<{ final: string; verified: boolean }> {
  const client = new ScramClient('SCRAM-SHA-256', user, password);
  const r1 = await c.cmd(`AUTH SCRAM-SHA-256 ${Buffer.from(client.first()).toString('base64')}`);
  assert.equal(r1.code, 334, r1.raw);
  const serverFirst = Buffer.from(r1.lines[0].slice(4), 'base64').toString();
  const r2 = await c.cmd(Buffer.from(client.final(serverFirst)).toString('base64'));
  if (r2.code !== 334) return { final: r2.raw, verified: false };
  const verified = client.verify(Buffer.from(r2.lines[0].slice(4), 'base64').toString());
  const r3 = await c.cmd('');
  return { final: r3.raw, verified };
}

test('SCRAM-SHA-256 over STARTTLS and implicit TLS with an RFC 7677 client; the server proves it knows the secret', { timeout: 60_000, skip }, async () => {
  for (const implicit of [false, true]) {
    const c = implicit ? await RawSmtp.connectTls(server.ports.submissions) : await RawSmtp.connect(server.ports.submission);
    try {
      assert.equal((await c.reply()).code, 220);
      if (!implicit) {
        await c.cmd('EHLO client.example.test');
        assert.equal((await c.cmd('STARTTLS')).code, 220);
        await c.startTls();
      }
      const ehlo = await c.cmd('EHLO client.example.test');
      assert.ok(ehlo.lines.includes('250-AUTH SCRAM-SHA-256 CRAM-MD5 PLAIN LOGIN'), ehlo.raw);
      const { final, verified } = await scramLogin(c, 'usr@example.test', PW);
      assert.equal(final, '235 2.7.0 Authentication successful\r\n');
      assert.ok(verified, 'v= checks out');
      assert.equal((await c.cmd('MAIL FROM:<usr@example.test>')).code, 250);
      assert.equal((await c.cmd('RCPT TO:<bob@remote.test>')).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      const subject = `scram implicit=${implicit}`;
      assert.match((await c.cmd(message(subject) + '.')).raw, /^250 2\.0\.0 Ok: queued as /);
      await arrived(subject);
      const bad = await RawSmtp.connectTls(server.ports.submissions);
      await bad.reply();
      await bad.cmd('EHLO x.test');
      assert.equal((await scramLogin(bad, 'usr@example.test', 'wrong')).final, '535 5.7.8 Authentication credentials invalid\r\n');
      bad.destroy();
    } finally {
      c.destroy();
    }
  }
});

test('before TLS: no PLAIN/LOGIN offered (538 5.7.11 if tried), MAIL needs AUTH (530 5.7.0); swaks cannot send the password in the clear', { timeout: 60_000, skip: skip || missingPeers('swaks') }, async () => {
  const c = await RawSmtp.connect(server.ports.submission);
  try {
    await c.reply();
    const ehlo = await c.cmd('EHLO client.example.test');
    assert.ok(ehlo.lines.includes('250-AUTH SCRAM-SHA-256 CRAM-MD5'), ehlo.raw);
    assert.ok(ehlo.lines.includes('250-STARTTLS'));
    assert.equal((await c.cmd(`AUTH PLAIN ${Buffer.from(`\0usr@example.test\0${PW}`).toString('base64')}`)).raw, '538 5.7.11 Encryption required for requested authentication mechanism\r\n');
    assert.equal((await c.cmd('AUTH LOGIN')).code, 538);
    assert.equal((await c.cmd('MAIL FROM:<usr@example.test>')).raw, '530 5.7.0 Authentication required\r\n');
    assert.equal((await c.cmd('AUTH GSSAPI')).raw, '504 5.5.4 Unrecognized authentication type\r\n');
  } finally {
    c.destroy();
  }
  const r = await swaks(['--server', `127.0.0.1:${server.ports.submission}`, '-a', 'PLAIN', '-au', 'usr@example.test', '-ap', PW, '--from', 'usr@example.test', '--to', 'bob@remote.test']);
  assert.notEqual(r.code, 0);
  assert.doesNotMatch(r.out, /235 2\.7\.0/);
  assert.doesNotMatch(r.out, new RegExp(Buffer.from(`\0usr@example.test\0${PW}`).toString('base64').slice(0, 16)), 'the password never went out');
  // Port 25 offers no AUTH unless [smtp] auth is on.
  const mta = await RawSmtp.connect(server.ports.smtp);
  try {
    await mta.reply();
    assert.ok(!(await mta.cmd('EHLO x.test')).lines.some((l) => l.includes('AUTH')));
    assert.equal((await mta.cmd('AUTH PLAIN AHVzcgB4')).raw, '502 5.5.1 Error: authentication not enabled\r\n');
  } finally {
    mta.destroy();
  }
});

test('senders: 553 5.7.1 for a forged envelope sender and for a forged From:, nothing queued; an alias, a senders-file entry and an allowed domain pass', { timeout: 60_000, skip }, async () => {
  const c = await RawSmtp.connectTls(server.ports.submissions);
  try {
    await c.reply();
    await c.cmd('EHLO client.example.test');
    assert.equal((await c.cmd(`AUTH PLAIN ${Buffer.from(`\0usr@example.test\0${PW}`).toString('base64')}`)).code, 235);
    assert.equal((await c.cmd('MAIL FROM:<admin@example.test>')).raw, '553 5.7.1 <admin@example.test>: Sender address rejected: not owned by user usr@example.test\r\n');
    assert.equal((await c.cmd('MAIL FROM:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<admin@example.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const forged = await c.cmd(message('forged from', 'admin@example.test', 'admin@example.test') + '.');
    assert.equal(forged.raw, '553 5.7.1 <admin@example.test>: From/Sender header address rejected: not owned by user usr@example.test\r\n');
    for (const [sender, subject] of [['sales@example.test', 'as the sales alias'], ['news@example.test', 'as news from the senders file'], ['someone@partner.test', 'as a partner.test address']]) {
      assert.equal((await c.cmd(`MAIL FROM:<${sender}>`)).code, 250, sender);
      assert.equal((await c.cmd('RCPT TO:<admin@example.test>')).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      assert.match((await c.cmd(message(subject, sender, 'admin@example.test') + '.')).raw, /^250 /, sender);
    }
  } finally {
    c.destroy();
  }
  const got = await until('3 messages for admin', async () => {
    const m = await inbox(server.ports.pop3, 'admin@example.test', 'admin-secret-1');
    return m.length >= 3 && m;
  });
  assert.equal(got.length, 3);
  assert.ok(!got.some((m) => m.includes('forged from')), 'the forged message was not kept');
  assert.match(server.readLog(), /reject: header From\/Sender <admin@example\.test> not owned by usr@example\.test/);
});

test('MSA fix-ups on the stored message: Date and Message-ID added, Bcc gone, unqualified addresses completed', { timeout: 60_000, skip }, async () => {
  const c = await RawSmtp.connect(server.ports.submission);
  try {
    await c.reply();
    await c.cmd('EHLO client.example.test');
    await c.cmd('STARTTLS');
    await c.startTls();
    await c.cmd('EHLO client.example.test');
    assert.equal((await c.cmd(`AUTH LOGIN ${Buffer.from('usr@example.test').toString('base64')}`)).code, 334);
    assert.equal((await c.cmd(Buffer.from(PW).toString('base64'))).code, 235);
    assert.equal((await c.cmd('MAIL FROM:<usr>')).code, 250, 'an unqualified sender is completed (always_add_domain)');
    assert.equal((await c.cmd('RCPT TO:<admin>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<bob@remote.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const r = await c.cmd('From: usr\r\nTo: admin\r\nBcc: bob@remote.test\r\nSubject: needs fixing\r\n\r\nBcc: this line is body\r\n.');
    assert.match(r.raw, /^250 2\.0\.0 Ok: queued as (\w+)/);
  } finally {
    c.destroy();
  }
  const [stored] = await until('the message in admin\'s INBOX', async () => (await inbox(server.ports.pop3, 'admin@example.test', 'admin-secret-1')).filter((m) => m.includes('needs fixing')));
  assert.match(stored, /^Return-Path: <usr@example\.test>\r\n/);
  assert.match(stored, /\r\nFrom: usr@example\.test\r\nTo: admin@example\.test\r\nSubject: needs fixing\r\nDate: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\nMessage-ID: <\w+\.[0-9a-f]+@mail\.example\.test>\r\n\r\nBcc: this line is body/);
  assert.doesNotMatch(stored.slice(0, stored.indexOf('\r\n\r\n')), /^Bcc:/m);
  const remote = await arrived('needs fixing');
  assert.deepEqual(remote.rcpts.map((x) => x.address), ['bob@remote.test'], 'the Bcc recipient still gets it');
  const head = remote.data.toString();
  assert.doesNotMatch(head.slice(0, head.indexOf('\r\n\r\n')), /^Bcc:/m);
});

test('failed AUTH is throttled per client address (454 4.7.0 even with the right password); an account under attack refuses the guessing addresses, not its owner; logged', { timeout: 60_000, skip }, async () => {
  const attempt = async (from: string, user: string, pw: string) => {
    const c = await RawSmtp.connect(server.ports.submission, '127.0.0.1', from);
    try {
      await c.reply();
      await c.cmd('EHLO client.example.test');
      await c.cmd('STARTTLS');
      await c.startTls();
      await c.cmd('EHLO client.example.test');
      return (await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pw}`).toString('base64')}`)).raw;
    } finally {
      c.destroy();
    }
  };
  for (let i = 0; i < 3; i++) assert.equal(await attempt('127.0.0.9', 'usr@example.test', `guess${i}`), '535 5.7.8 Authentication credentials invalid\r\n');
  assert.equal(await attempt('127.0.0.9', 'usr@example.test', PW), '454 4.7.0 Temporary authentication failure; too many failures, try again later\r\n');
  assert.match(await attempt('127.0.0.10', 'usr@example.test', PW), /^235 /, 'another client address is not affected');
  // The account: 4 x 3 failures spread over addresses that each stay under their own limit.
  for (let a = 0; a < 6; a++) for (let i = 0; i < 2; i++) assert.match(await attempt(`127.0.1.${a + 1}`, 'victim@example.test', 'nope'), /^535 /);
  // Issue 9.9: the owner, from an address that has not failed, still gets in; a guessing address under its own limit does not.
  assert.match(await attempt('127.0.2.1', 'victim@example.test', 'victim-secret-1'), /^235 /);
  assert.equal(await attempt('127.0.1.1', 'victim@example.test', 'victim-secret-1'), '454 4.7.0 Temporary authentication failure; too many failures, try again later\r\n');
  const log = server.readLog();
  assert.match(log, /auth failed: service=submission, mechanism=PLAIN, user=usr@example\.test, client=127\.0\.0\.9/);
  assert.match(log, /auth throttled: service=submission, mechanism=PLAIN, user=victim@example\.test, client=127\.0\.1\.1/);
});
