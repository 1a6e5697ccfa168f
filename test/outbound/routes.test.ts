import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startSink } from '../helpers/sink.js';
import { startWorld, until, PASSWORD } from './world.js';
import { needs } from '../helpers/peers.js';

const SENDER = 'sender@example.test';
const msg = (id: string) => `From: <${SENDER}>\r\nSubject: ${id}\r\nMessage-ID: <${id}@example.test>\r\n\r\nbody ${id}\r\n`;

test('smart host (S14): all remote mail through one relay, over STARTTLS, with AUTH; no MX lookup', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink({ tls: true, auth: { user: 'relayuser', password: 'pa:ss word' } });
  const w = await startWorld({
    // No DNS records at all for the recipients' domains: only the smart host can deliver.
    toml: `[outbound]\nsmart_host = "[${sink.host}]:${sink.port}"\nsmart_host_auth = "smarthost.auth"\nsmart_host_tls = "required"\nsmart_host_tls_verify = false`,
    files: { 'smarthost.auth': 'relayuser:pa:ss word\n' },
    aliases: 'out: a@far.example, b@other.example\n',
  });
  try {
    await w.send({ from: SENDER, to: ['out@example.test'], raw: msg('smart') });
    const [m] = await sink.waitFor(1);
    assert.equal(m.tls, true, 'STARTTLS before AUTH');
    assert.equal(m.auth, 'relayuser');
    assert.deepEqual(m.rcpts.map((r) => r.address).sort(), ['a@far.example', 'b@other.example'], 'one transaction to the relay for both domains');
    assert.ok(sink.commands.some((c) => /^AUTH PLAIN /.test(c)));
    assert.ok(!w.server.readLog().includes('pa:ss word') && !w.server.readLog().includes(Buffer.from('\0relayuser\0pa:ss word').toString('base64')), 'the password is never logged');
    await w.waitForLog(/to=<a@far\.example>.*relay=[\d.]+\[[\d.]+\]:\d+.*status=sent/);
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('smart host problems keep the mail queued: a wrong password is deferred, fixed, flushed, delivered', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const withAuth = await startSink({ tls: true, auth: { user: 'u', password: 'right' } });
  const w = await startWorld({
    toml: `[outbound]\nsmart_host = "[${withAuth.host}]:${withAuth.port}"\nsmart_host_auth = "smarthost.auth"\nretry_initial = 60`,
    files: { 'smarthost.auth': 'u:wrong\n' },
    aliases: 'out: a@far.example\n',
    users: [SENDER],
  });
  try {
    await w.send({ from: SENDER, to: ['out@example.test'], raw: msg('badauth') });
    await w.waitForLog(/to=<a@far\.example>.*dsn=4\.7\.0, status=deferred \(.*authentication failed: 535 5\.7\.8/);
    assert.equal(withAuth.messages.length, 0);
    // The password file is read at each delivery: fixing it and flushing delivers.
    writeFileSync(join(w.server.dir, 'smarthost.auth'), 'u:right\n');
    const f = await w.server.cli(['queue', 'flush']);
    assert.match(f.stdout, /1 recipient due now; the running server was asked/);
    await withAuth.waitFor(1, 15_000);
    assert.equal((await w.inbox(SENDER, PASSWORD)).length, 0, 'never bounced');
  } finally {
    await w.stop();
    await withAuth.close();
  }
});

test('no password in the clear: a smart host without STARTTLS gets none (opportunistic TLS), and the mail waits', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const noTls = await startSink({ auth: { user: 'u', password: 'right' } });
  const w = await startWorld({
    toml: `[outbound]\nsmart_host = "[${noTls.host}]:${noTls.port}"\nsmart_host_auth = "smarthost.auth"\nretry_initial = 60`,
    files: { 'smarthost.auth': 'u:right\n' },
    aliases: 'out: a@far.example\n',
  });
  try {
    await w.send({ from: SENDER, to: ['out@example.test'], raw: msg('notls') });
    await w.waitForLog(/to=<a@far\.example>.*dsn=4\.7\.0, status=deferred \(.*no TLS, so the password is not sent/);
    assert.ok(!noTls.commands.some((c) => c.startsWith('AUTH')), 'no AUTH command was sent');
    assert.equal(noTls.messages.length, 0);
  } finally {
    await w.stop();
    await noTls.close();
  }
});

test('mailertable (S20): error: bounces with its text, smtp:[host]:port goes to that port, local: delivers into a mailbox, .domain covers subdomains', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink();
  const w = await startWorld({
    // The outbound port (25) is not the sink's: only the mailertable's port reaches it.
    mailertable: `old.example error:5.1.2:domain retired in 2020\n.branch.example smtp:[${sink.host}]:${sink.port}\nintra.example local:boss\n`,
    aliases: 'out: x@old.example, y@a.branch.example, z@intra.example\n',
    users: [SENDER, 'boss@example.test'],
  });
  try {
    await w.send({ from: SENDER, to: ['out@example.test'], raw: msg('mt') });
    const [m] = await sink.waitFor(1);
    assert.deepEqual(m.rcpts.map((r) => r.address), ['y@a.branch.example']);
    const boss = await until('local: delivery', async () => {
      const b = await w.inbox('boss@example.test', PASSWORD);
      return b.length ? b : false;
    });
    assert.match(boss[0], /Message-ID: <mt@example\.test>/);
    const dsn = await until('bounce', async () => (await w.inbox(SENDER, PASSWORD))[0]);
    assert.match(dsn, /Final-Recipient: rfc822; x@old\.example\r\nAction: failed\r\nStatus: 5\.1\.2\r\nDiagnostic-Code: x-correo; domain retired in 2020/);
    assert.ok(!dsn.includes('y@a.branch.example') && !dsn.includes('Final-Recipient: rfc822; z@'), 'only the refused one');
  } finally {
    await w.stop();
    await sink.close();
  }
});

test('a mailertable with a mistake is reported as FILE:LINE and the previous routes keep working', { timeout: 60_000, ...needs('dnsmasq') }, async () => {
  const sink = await startSink();
  const w = await startWorld({
    mailertable: `remote.example smtp:[${sink.host}]:${sink.port}\n`,
    aliases: 'out: a@remote.example\n',
  });
  try {
    await new Promise((r) => setTimeout(r, 1100)); // a different mtime
    writeFileSync(join(w.server.dir, 'mailertable'), `remote.example smtp:[${sink.host}]:${sink.port}\nbroken line here\n`);
    await w.send({ from: SENDER, to: ['out@example.test'], raw: msg('keep') });
    await sink.waitFor(1);
    await w.waitForLog(new RegExp(`mailertable: ${join(w.server.dir, 'mailertable').replace(/[.]/g, '\\.')}:2: .*keeping the previous version`));
  } finally {
    await w.stop();
    await sink.close();
  }
});
