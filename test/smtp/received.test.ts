import { test } from 'node:test';
import assert from 'node:assert/strict';
import { receivedHeader, rfc5322Date, addressLiteral, sanitizeHelo } from '../../src/smtp/received.js';
import { ClientNames } from '../../src/smtp/rdns.js';
import { startServer } from '../helpers/server.js';
import { startDns } from '../helpers/dns.js';
import { RawSmtp, storedMessages } from './client.js';
import { needs } from '../helpers/peers.js';

const base = {
  helo: 'client.remote.test',
  clientIp: '192.0.2.7',
  clientName: 'mx.remote.test',
  hostname: 'mail.example.test',
  esmtp: true,
  tls: null,
  authenticated: false,
  smtputf8: false,
  id: '0ABC123DEF456GH',
  recipients: ['usr@example.test'],
  date: new Date(Date.UTC(2026, 10, 27, 9, 5, 3)),
};

test('Received header: RFC 5321 4.4 clauses, one recipient named, several not', () => {
  assert.equal(
    receivedHeader(base),
    'Received: from client.remote.test (mx.remote.test [192.0.2.7])\r\n' +
      '\tby mail.example.test (Correo) with ESMTP id 0ABC123DEF456GH\r\n' +
      '\tfor <usr@example.test>; Fri, 27 Nov 2026 09:05:03 +0000\r\n',
  );
  assert.equal(
    receivedHeader({ ...base, clientName: null, clientIp: '::1', esmtp: true, tls: { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' }, recipients: ['a@example.test', 'b@example.test'] }),
    'Received: from client.remote.test (unknown [IPv6:::1])\r\n' +
      '\tby mail.example.test (Correo) with ESMTPS id 0ABC123DEF456GH\r\n' +
      '\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384);\r\n' +
      '\tFri, 27 Nov 2026 09:05:03 +0000\r\n',
  );
  assert.match(receivedHeader({ ...base, esmtp: false }), /with SMTP id/);
  assert.match(receivedHeader({ ...base, smtputf8: true, tls: { protocol: 'TLSv1.2', cipher: 'x' } }), /with UTF8SMTPS id/);
  assert.equal(rfc5322Date(new Date(Date.UTC(2027, 0, 1, 0, 0, 0))), 'Fri, 1 Jan 2027 00:00:00 +0000');
  assert.equal(addressLiteral('::ffff:10.1.2.3'), '[10.1.2.3]');
  // The client's HELO cannot break out of the header.
  assert.equal(sanitizeHelo('evil) (x\\y;z'), 'evil___x_y_z');
  assert.equal(sanitizeHelo(''), 'unknown');
});

test('client names are looked up once per address and minute', async () => {
  let calls = 0;
  const names = new ClientNames({ verifiedName: async (ip: string) => (calls++, ip === '192.0.2.1' ? 'a.test' : null) }, 1000, 2);
  assert.equal(await names.lookup('192.0.2.1', 0), 'a.test');
  assert.equal(await names.lookup('192.0.2.1', 500), 'a.test');
  assert.equal(calls, 1);
  assert.equal(await names.lookup('192.0.2.1', 1500), 'a.test');
  assert.equal(calls, 2, 'expired entries are looked up again');
  assert.equal(await names.lookup('192.0.2.2', 1500), null);
  await names.lookup('192.0.2.3', 1500);
  await names.lookup('192.0.2.1', 1500);
  assert.equal(calls, 5, 'bounded: the oldest entry was dropped');
});

test('Received names the client by forward-confirmed reverse DNS from [dns] servers only', { timeout: 60000, ...needs('dnsmasq') }, async () => {
  const dns = await startDns([
    // (127.0.0.1 is avoided: c-ares answers its PTR from /etc/hosts before asking DNS.)
    '--host-record=good.remote.test,127.0.0.3',
    // 127.0.0.2 claims a name whose address is elsewhere: not confirmed, so "unknown".
    '--ptr-record=2.0.0.127.in-addr.arpa,liar.remote.test',
    '--host-record=liar.remote.test,127.0.0.9',
  ]);
  const server = await startServer({ dns });
  try {
    await server.addUser('usr@example.test', 'pw-received');
    const send = async (local: string, subject: string) => {
      const c = await RawSmtp.connect(server.ports.smtp, '127.0.0.1', local);
      try {
        await c.reply();
        await c.cmd('EHLO whatever.test');
        await c.cmd('MAIL FROM:<a@remote.test>');
        await c.cmd('RCPT TO:<usr@example.test>');
        await c.cmd('DATA');
        const r = await c.cmd(`Subject: ${subject}\r\n\r\nx\r\n.`);
        return /queued as ([A-Z0-9]+)/.exec(r.lines[0])![1];
      } finally {
        c.destroy();
      }
    };
    const good = await send('127.0.0.3', 'good');
    const liar = await send('127.0.0.2', 'liar');
    const text = (id: string) => storedMessages(server.dir).find((m) => m.id === id)!.text.toString();
    assert.match(text(good), /^Return-Path: <a@remote\.test>\r\nReceived: from whatever\.test \(good\.remote\.test \[127\.0\.0\.3\]\)\r\n/);
    assert.match(text(liar), /^Return-Path: <a@remote\.test>\r\nReceived: from whatever\.test \(unknown \[127\.0\.0\.2\]\)\r\n/);
    assert.match(server.readLog(), new RegExp(`${good}: client=good\\.remote\\.test\\[127\\.0\\.0\\.3\\]`));
  } finally {
    await server.stop();
    await dns.stop();
  }
});
