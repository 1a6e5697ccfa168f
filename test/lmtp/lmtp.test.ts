import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { freeTcpPort } from '../helpers/ports.js';
import { RawSmtp } from '../smtp/client.js';
import { Imap } from '../imap/client.js';
import { swaks } from '../policy/smtp.js';
import { folderMessages, waitForMessages } from '../policy/mailbox.js';
import { waitFor } from '../helpers/wait.js';
import { startFrontPostfix } from './postfix.js';
import { needs } from '../helpers/peers.js';

/**
 * RFC 2033 LMTP (S29): swaks and raw transcripts for the protocol (LHLO, one reply per
 * recipient after DATA, local recipients only), a Unix socket, and Postfix delivering into
 * Correo's store over LMTP as sendmail delivers to Cyrus.
 */

const sockDir = mkdtempSync(join(tmpdir(), 'correo-lmtp-'));
const socket = join(sockDir, 'lmtp.sock');
let server: TestServer;
let lmtpPort = 0;
const PW = 'pw-lmtp-1';

test.before(async () => {
  server = await startServer({ toml: `[lmtp]\nlisten = ["127.0.0.1:0"]\nsocket = "${socket}"\n` });
  lmtpPort = (JSON.parse(readFileSync(join(server.dir, 'listening.json'), 'utf8')) as Record<string, { port: number }[]>).lmtp[0].port;
  for (const u of ['usr@example.test', 'otro@example.test', 'full@example.test', 'admin@example.test']) await server.addUser(u, PW);
  // admin@example.test is an administrator: it sets full@'s quota to 1 KiB over IMAP (RFC 9208).
  const admin = await Imap.open(server.ports.imaps, { tls: true });
  try {
    await admin.login('admin@example.test', PW);
    const r = await admin.cmd('SETQUOTA user.full@example.test (STORAGE 1)');
    assert.match(r.tagged, /OK/, r.all.join('\n'));
  } finally {
    admin.close();
  }
});
test.after(async () => {
  await server?.stop();
  rmSync(sockDir, { recursive: true, force: true });
});

test('swaks --protocol LMTP: LHLO, a refused RCPT, then one 250 per accepted recipient', { timeout: 60000, ...needs('swaks') }, async () => {
  const r = await swaks(['--protocol', 'LMTP', '--server', `127.0.0.1:${lmtpPort}`, '--helo', 'front.test',
    '--from', 'a@remote.test', '--to', 'usr@example.test,nobody@example.test,otro@example.test', '--header', 'Subject: over lmtp']);
  assert.match(r.out, /<- +220 mail\.example\.test LMTP Correo/);
  assert.match(r.out, /-> LHLO front\.test/);
  assert.doesNotMatch(r.out, /250[- ]STARTTLS/);
  assert.match(r.out, /<\*\* +550 5\.1\.1 <nobody@example\.test>: Recipient address rejected: User unknown/);
  assert.match(r.out, /<- +250 2\.1\.5 <usr@example\.test> Ok: queued as \w+\n[^]*<- +250 2\.1\.5 <otro@example\.test> Ok: queued as \w+/);
  for (const u of ['usr@example.test', 'otro@example.test']) {
    const got = await waitForMessages(server.ports.imaps, u, PW, 1);
    assert.ok(got.some((m) => m.includes('Subject: over lmtp')), u);
  }
});

test('a transcript: HELO refused, no relaying, a full mailbox answers for itself, a repeated recipient gets its own reply', { timeout: 60000 }, async () => {
  const c = await RawSmtp.connect(lmtpPort);
  try {
    assert.equal((await c.reply()).code, 220);
    assert.equal((await c.cmd('HELO front.test')).lines[0], '500 5.5.2 Error: this is LMTP; say LHLO (RFC 2033 4.1)');
    const lhlo = await c.cmd('LHLO front.test');
    assert.equal(lhlo.code, 250);
    assert.ok(lhlo.lines.some((l) => l.endsWith('PIPELINING')) && lhlo.lines.some((l) => l.endsWith('ENHANCEDSTATUSCODES')));
    assert.equal((await c.cmd('MAIL FROM:<a@remote.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<x@remote.test>')).lines[0], '550 5.7.1 <x@remote.test>: Relay access denied');
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<full@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<USR@example.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    c.send(`Subject: per recipient\r\n\r\n${'x'.repeat(2000)}\r\n.\r\n`);
    const replies = [await c.reply(), await c.reply(), await c.reply()].map((r) => r.lines[0]);
    assert.match(replies[0], /^250 2\.1\.5 <usr@example\.test> Ok: queued as \w+$/);
    assert.equal(replies[1], '552 5.2.2 <full@example.test> Mailbox full (quota exceeded)');
    assert.match(replies[2], /^250 2\.1\.5 <USR@example\.test> Ok: queued as \w+$/);
    assert.equal((await c.cmd('QUIT')).code, 221);
  } finally {
    c.destroy();
  }
  // (Not a count of the whole INBOX: the swaks test before may have been skipped.)
  let got: string[] = [];
  await waitFor(async () => (got = await folderMessages(server.ports.imaps, 'usr@example.test', PW)).some((m) => m.includes('Subject: per recipient')), {
    describe: () => `"per recipient" in usr's INBOX; it holds ${got.length} messages`,
  });
  assert.equal(got.filter((m) => m.includes('Subject: per recipient')).length, 1, 'one copy for usr');
});

test('the Unix socket speaks LMTP too', { timeout: 60000, ...needs('swaks') }, async () => {
  const r = await swaks(['--protocol', 'LMTP', '--socket', socket, '--helo', 'front.test', '--from', 'a@remote.test', '--to', 'otro@example.test', '--header', 'Subject: via socket']);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /<- +250 2\.1\.5 <otro@example\.test> Ok: queued as/);
  const got = await waitForMessages(server.ports.imaps, 'otro@example.test', PW, 2);
  assert.ok(got.some((m) => m.includes('Subject: via socket')));
});

test('Postfix delivers into Correo over LMTP: delivered, unknown user and full mailbox bounced by Postfix', { timeout: 120000, ...needs('swaks', 'postfix') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-front-'));
  const pf = await startFrontPostfix(dir, await freeTcpPort('127.0.0.1'), 'example.test', `inet:127.0.0.1:${lmtpPort}`);
  try {
    const r = await swaks(['--server', `127.0.0.1:${pf.port}`, '--helo', 'client.test', '--from', 'sender@remote.test',
      '--to', 'usr@example.test,ghost@example.test,full@example.test', '--header', 'Subject: through postfix', '--body', 'x'.repeat(3000)]);
    assert.equal(r.code, 0, r.out);
    const got = await waitForMessages(server.ports.imaps, 'usr@example.test', PW, 3, 'INBOX', 60000);
    const m = got.find((x) => x.includes('Subject: through postfix'));
    assert.ok(m);
    assert.match(m, /Received: from front\.test \(/, 'Correo took it from Postfix');
    assert.match(m, /by front\.test \(Postfix\) with ESMTP/, "Postfix's own Received line is inside");
    const start = Date.now();
    const want = [
      /to=<usr@example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent \(250 2\.1\.5 <usr@example\.test> Ok: queued as \w+\)/,
      /to=<ghost@example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 550 5\.1\.1 <ghost@example\.test>: Recipient address rejected: User unknown/,
      /to=<full@example\.test>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=bounced \(host 127\.0\.0\.1\[127\.0\.0\.1\] said: 552 5\.2\.2 <full@example\.test> Mailbox full/,
    ];
    while (!want.every((re) => re.test(pf.log()))) {
      if (Date.now() - start > 60000) assert.fail(`Postfix log lacks ${want.find((re) => !re.test(pf.log()))}:\n${pf.log()}`);
      await new Promise((res) => setTimeout(res, 200));
    }
    assert.match(pf.log(), /lmtp\[\d+\]/, 'delivered by Postfix\'s lmtp client');
  } finally {
    await pf.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
