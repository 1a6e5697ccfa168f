import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RawSmtp } from '../smtp/client.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, type TestDns } from '../helpers/dns.js';
import { dkimKey, message, signed } from './world.js';
import { folderMessages, waitForMessages } from './mailbox.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

/**
 * SPF, DKIM, DMARC on mail arriving on port 25, end to end: the records come from a DNS
 * server on loopback, the verdicts from the server, the results are read back with IMAP.
 */

let server: TestServer;
let lenient: TestServer;
let dns: TestDns;
const key = dkimKey('signed.test');

test.before(async () => {
  if (skip) return;
  dns = await startDns([
    '--local=/remote.test/', '--local=/signed.test/', '--local=/soft.test/', '--local=/lists.test/',
    '--txt-record=remote.test,v=spf1 ip4:127.0.0.2 -all',
    '--txt-record=_dmarc.remote.test,v=DMARC1; p=reject',
    '--txt-record=signed.test,v=spf1 -all',
    '--txt-record=_dmarc.signed.test,v=DMARC1; p=reject',
    '--txt-record=soft.test,v=spf1 ip4:127.0.0.2 -all',
    '--txt-record=_dmarc.soft.test,v=DMARC1; p=quarantine',
    '--txt-record=lists.test,v=spf1 -all',
    '--txt-record=_dmarc.lists.test,v=DMARC1; p=reject',
    key.record,
  ]);
  [server, lenient] = await Promise.all([
    startServer({ dns, toml: '[auth_checks.domains]\n"lists.test" = "none"\n' }),
    startServer({ dns, toml: '[auth_checks]\ndmarc_reject = false\n' }),
  ]);
  for (const s of [server, lenient]) await s.addUser('usr@example.test', 'pw-usr-1');
});
test.after(async () => {
  await Promise.all([server?.stop(), lenient?.stop()]);
  await dns?.stop();
});

/** One message from `ip`; the reply to the final dot. */
async function send(s: TestServer, ip: string, sender: string, data: Buffer): Promise<string> {
  const c = await RawSmtp.connect(s.ports.smtp, '127.0.0.1', ip);
  try {
    await c.reply();
    for (const cmd of ['EHLO client.test', `MAIL FROM:<${sender}>`, 'RCPT TO:<usr@example.test>', 'DATA']) {
      const r = await c.cmd(cmd);
      assert.ok(r.code < 400, `${cmd}: ${r.raw}`);
    }
    c.send(Buffer.concat([data, Buffer.from('.\r\n')]));
    const r = await c.reply(20000);
    return r.lines[r.lines.length - 1];
  } finally {
    c.destroy();
  }
}

const subject = (m: string) => /^Subject: (.*)$/m.exec(m)?.[1]?.trim();

test('SPF pass: delivered with Received-SPF and Authentication-Results after our Received line', { timeout: 60000, skip }, async () => {
  const r = await send(server, '127.0.0.2', 'a@remote.test', message('a@remote.test', 'usr@example.test', 'spf-pass'));
  assert.match(r, /^250 2\.0\.0 Ok: queued as/);
  const got = (await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-usr-1', 1)).find((m) => subject(m) === 'spf-pass');
  assert.ok(got);
  const head = got.slice(0, got.indexOf('\r\n\r\n'));
  assert.match(head, /^Return-Path: <a@remote\.test>\r\nReceived: from client\.test [^]*?\r\nReceived-SPF: pass /);
  assert.match(head, /\r\nAuthentication-Results: mail\.example\.test;\r\n dkim=none[^]*spf=pass [^]*smtp\.mailfrom=a@remote\.test[^]*dmarc=pass /);
});

test('DMARC p=reject honoured: 550 5.7.1 at the end of DATA, nothing stored', { timeout: 60000, skip }, async () => {
  const r = await send(server, '127.0.0.9', 'a@remote.test', message('a@remote.test', 'usr@example.test', 'forged'));
  assert.equal(r, '550 5.7.1 Email rejected per DMARC policy for remote.test');
  const all = await folderMessages(server.ports.imaps, 'usr@example.test', 'pw-usr-1');
  assert.ok(!all.some((m) => subject(m) === 'forged'));
  assert.match(server.readLog(), /policy: data from unknown\[127\.0\.0\.9\] id=\S+ from=<a@remote\.test>: 550 5\.7\.1 Email rejected per DMARC policy for remote\.test \[[^\]]*dmarc: reject: dmarc=fail p=reject/);
});

test('DKIM: a signed message passes DMARC although SPF fails; a tampered one is refused', { timeout: 60000, skip }, async () => {
  const good = await signed(message('news@signed.test', 'usr@example.test', 'dkim-signed'), key);
  assert.match(await send(server, '127.0.0.9', 'bounces@signed.test', good), /^250 /);
  const bad = await signed(message('news@signed.test', 'usr@example.test', 'dkim-tampered'), key);
  assert.equal(await send(server, '127.0.0.9', 'bounces@signed.test', Buffer.from(bad.toString().replace('Hello.', 'Hell0.'))), '550 5.7.1 Email rejected per DMARC policy for signed.test');
  const got = (await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-usr-1', 2)).find((m) => subject(m) === 'dkim-signed');
  assert.ok(got);
  assert.match(got, /dkim=pass header\.i=@signed\.test/);
  assert.match(got, /spf=fail/);
  assert.match(got, /dmarc=pass/);
});

test('DMARC p=quarantine: accepted and filed in Junk, not INBOX', { timeout: 60000, skip }, async () => {
  const r = await send(server, '127.0.0.9', 'x@soft.test', message('x@soft.test', 'usr@example.test', 'quarantined'));
  assert.match(r, /^250 /);
  const junk = await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-usr-1', 1, 'Junk');
  assert.ok(junk.some((m) => subject(m) === 'quarantined'));
  const inbox = await folderMessages(server.ports.imaps, 'usr@example.test', 'pw-usr-1');
  assert.ok(!inbox.some((m) => subject(m) === 'quarantined'));
});

test('local policy: a domain set to "none" is delivered; dmarc_reject = false quarantines instead of refusing', { timeout: 60000, skip }, async () => {
  assert.match(await send(server, '127.0.0.9', 'l@lists.test', message('l@lists.test', 'usr@example.test', 'list-mail')), /^250 /);
  assert.match(await send(lenient, '127.0.0.9', 'a@remote.test', message('a@remote.test', 'usr@example.test', 'not-refused')), /^250 /);
  const junk = await waitForMessages(lenient.ports.imaps, 'usr@example.test', 'pw-usr-1', 1, 'Junk');
  assert.ok(junk.some((m) => subject(m) === 'not-refused'));
  const inbox = await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-usr-1', 3);
  assert.ok(inbox.some((m) => subject(m) === 'list-mail'));
});
