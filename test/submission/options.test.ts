import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, type TestDns } from '../helpers/dns.js';
import { startSink, type Sink } from '../helpers/sink.js';
import { RawSmtp } from '../smtp/client.js';
import { until } from './helpers.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

/**
 * Submission options on one server: AUTH on port 25 (S18 option A, `[smtp] auth = true`) and
 * masquerading (S27: MASQUERADE_AS corp.test, masquerade_envelope, EXPOSED_USER root).
 */

let server: TestServer;
let dns: TestDns;
let sink: Sink;

test.before(async () => {
  if (skip) return;
  sink = await startSink();
  dns = await startDns(['--local=/test/', '--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`]);
  server = await startServer({
    dns,
    toml: ['[smtp]', 'auth = true', '[masquerade]', 'as = "corp.test"', 'envelope = true', '[outbound]', `port = ${sink.port}`].join('\n'),
  });
  await server.addUser('usr@example.test', 'usr-pw');
  await server.addUser('admin@example.test', 'admin-pw');
});

test.after(async () => {
  await server?.stop();
  await dns?.stop();
  await sink?.close();
});

async function loggedIn(port: number, user: string, pw: string, starttls = true): Promise<RawSmtp> {
  const c = await RawSmtp.connect(port);
  await c.reply();
  await c.cmd('EHLO client.example.test');
  if (starttls) {
    assert.equal((await c.cmd('STARTTLS')).code, 220);
    await c.startTls();
    await c.cmd('EHLO client.example.test');
  }
  assert.equal((await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pw}`).toString('base64')}`)).code, 235);
  return c;
}

const arrived = (subject: string) => until(`"${subject}" at the sink`, () => sink.messages.find((m) => m.data.toString().includes(`Subject: ${subject}\r\n`)), 30_000);

test('AUTH on port 25 with [smtp] auth = true: SCRAM only before TLS, PLAIN after; an authenticated client relays, a stranger does not; no fix-ups there', { timeout: 60_000, skip }, async () => {
  const plain = await RawSmtp.connect(server.ports.smtp);
  try {
    await plain.reply();
    const ehlo = await plain.cmd('EHLO client.example.test');
    assert.ok(ehlo.lines.includes('250-AUTH SCRAM-SHA-256'), ehlo.raw);
    assert.equal((await plain.cmd('MAIL FROM:<someone@elsewhere.test>')).code, 250, 'port 25 takes mail without AUTH');
    assert.equal((await plain.cmd('RCPT TO:<bob@remote.test>')).raw, '550 5.7.1 <bob@remote.test>: Relay access denied\r\n');
  } finally {
    plain.destroy();
  }
  const c = await loggedIn(server.ports.smtp, 'usr@example.test', 'usr-pw');
  try {
    assert.equal((await c.cmd('MAIL FROM:<admin@example.test>')).code, 553, 'sender checks apply to any authenticated session');
    assert.equal((await c.cmd('MAIL FROM:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<bob@remote.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    assert.match((await c.cmd('From: usr@example.test\r\nTo: bob@remote.test\r\nSubject: via port 25\r\n\r\nhi\r\n.')).raw, /^250 /);
  } finally {
    c.destroy();
  }
  const m = await arrived('via port 25');
  assert.equal(m.from, 'usr@example.test', 'no masquerading on port 25');
  assert.doesNotMatch(m.data.toString(), /^Date:|^Message-ID:/m, 'no MSA fix-ups on port 25');
  assert.match(m.data.toString(), /with ESMTPSA id/);
});

test('masquerading (S27): submitted From: and envelope sender show corp.test, To: is untouched, root stays exposed', { timeout: 60_000, skip }, async () => {
  const c = await loggedIn(server.ports.submission, 'usr@example.test', 'usr-pw');
  try {
    assert.equal((await c.cmd('MAIL FROM:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<bob@remote.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    assert.match((await c.cmd('From: Usr <usr@example.test>\r\nTo: bob@remote.test, admin@example.test\r\nSubject: masqueraded\r\n\r\nhi\r\n.')).raw, /^250 /);
  } finally {
    c.destroy();
  }
  const m = await arrived('masqueraded');
  assert.equal(m.from, 'usr@corp.test', 'masquerade_envelope');
  assert.match(m.data.toString(), /\r\nFrom: Usr <usr@corp\.test>\r\nTo: bob@remote\.test, admin@example\.test\r\n/);

  // root is an alias of the admins (postmaster -> root -> admins): admin may send as root, unmasqueraded.
  const a = await loggedIn(server.ports.submission, 'admin@example.test', 'admin-pw');
  try {
    assert.equal((await a.cmd('MAIL FROM:<root@example.test>')).code, 250);
    assert.equal((await a.cmd('RCPT TO:<bob@remote.test>')).code, 250);
    assert.equal((await a.cmd('DATA')).code, 354);
    assert.match((await a.cmd('From: root@example.test\r\nSubject: from root\r\n\r\nhi\r\n.')).raw, /^250 /);
  } finally {
    a.destroy();
  }
  const r = await arrived('from root');
  assert.equal(r.from, 'root@example.test');
  assert.match(r.data.toString(), /\r\nFrom: root@example\.test\r\n/);
});
