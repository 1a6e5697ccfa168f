import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawSmtp, storedMessages, dialogue } from './client.js';

/**
 * Bad input on port 25 (issue 2, "Bad input"): each case gets a clear reply, nothing is lost
 * or half-stored, and the server keeps serving the next client.
 */

let server: TestServer;

test.before(async () => {
  server = await startServer({
    toml: '[smtp]\nmax_message_size = 1000000\nmax_recipients = 3\nmax_line_length = 512\nmax_errors = 5\nidle_timeout = 3\n',
  });
  await server.addUser('usr@example.test', 'secret-pw-1');
});
test.after(async () => {
  await server?.stop();
});

async function session(): Promise<RawSmtp> {
  const c = await RawSmtp.connect(server.ports.smtp);
  assert.equal((await c.reply()).code, 220);
  assert.equal((await c.cmd('EHLO client.test')).code, 250);
  return c;
}

/** The server still answers a normal client. */
async function stillServing(): Promise<void> {
  await dialogue(server.ports.smtp, [['EHLO again.test', 250], ['NOOP', 250], ['QUIT', 221]]);
}

for (const [name, seq] of [['LF.LF', '\n.\n'], ['CRLF.LF', '\r\n.\n'], ['LF.CRLF', '\n.\r\n'], ['CR.CR', '\r.\r'], ['CRLF.CR', '\r\n.\r']]) {
  test(`SMTP smuggling with ${name} inside DATA: one message, holding the smuggled text`, { timeout: 30000 }, async () => {
    const before = storedMessages(server.dir).length;
    const c = await session();
    try {
      assert.equal((await c.cmd('MAIL FROM:<honest@remote.test>')).code, 250);
      assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
      assert.equal((await c.cmd('DATA')).code, 354);
      c.send(
        'From: honest@remote.test\r\nSubject: first\r\n\r\nhello' + seq +
          'MAIL FROM:<evil@remote.test>\r\nRCPT TO:<usr@example.test>\r\nDATA\r\n' +
          'From: ceo@example.test\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n',
      );
      const r = await c.reply();
      assert.match(r.lines[0], /^250 2\.0\.0 Ok: queued as /);
      const q = await c.cmd('QUIT');
      assert.equal(q.code, 221, 'no replies to smuggled commands came before QUIT: ' + q.raw);
    } finally {
      c.destroy();
    }
    const after = storedMessages(server.dir);
    assert.equal(after.length, before + 1, 'exactly one message stored');
    const text = after.find((m) => m.text.includes('Subject: first'))!.text.toString('latin1');
    assert.ok(text.includes('MAIL FROM:<evil@remote.test>\r\n') && text.includes('smuggled body\r\n'), 'smuggled text is part of the one message');
    assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), 'stored message is CRLF only');
  });
}

test('STARTTLS injection: commands pipelined after STARTTLS are discarded, not run inside TLS', { timeout: 30000 }, async () => {
  const c = await session();
  try {
    c.send('STARTTLS\r\nNOOP\r\nMAIL FROM:<inject@remote.test>\r\n');
    const r = await c.reply();
    assert.equal(r.lines[0], '220 2.0.0 Ready to start TLS');
    assert.equal(c.unread, '', 'nothing after the 220 in plaintext');
    await c.startTls();
    await sleep(500);
    assert.equal(c.unread, '', 'the injected NOOP got no reply inside TLS');
    // RFC 3207 4.2: the session starts over; the injected MAIL did not open a transaction.
    assert.equal((await c.cmd('MAIL FROM:<a@remote.test>')).lines[0], '503 5.5.1 Error: send HELO/EHLO first');
    const ehlo = await c.cmd('EHLO client.test');
    assert.equal(ehlo.code, 250);
    assert.ok(!ehlo.lines.some((l) => l.includes('STARTTLS')), 'no STARTTLS inside TLS');
    assert.equal((await c.cmd('STARTTLS')).lines[0], '503 5.5.1 Error: TLS already active');
    assert.equal((await c.cmd('MAIL FROM:<a@remote.test>')).code, 250);
    assert.equal((await c.cmd('QUIT')).code, 221);
  } finally {
    c.destroy();
  }
});

test('message over SIZE: 552 5.3.4 at MAIL for the declared size, after DATA for the real one; nothing stored', { timeout: 30000 }, async () => {
  const before = storedMessages(server.dir).length;
  const c = await session();
  try {
    assert.equal((await c.cmd('MAIL FROM:<big@remote.test> SIZE=2000000')).lines[0].slice(0, 9), '552 5.3.4');
    assert.equal((await c.cmd('MAIL FROM:<big@remote.test> SIZE=5000')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const line = 'x'.repeat(998) + '\r\n';
    c.send('Subject: big\r\n\r\n' + line.repeat(1100) + '.\r\n');
    const r = await c.reply(20000);
    assert.equal(r.lines[0], '552 5.3.4 Message size exceeds fixed maximum message size (1000000)');
    // The session goes on: the next transaction is accepted.
    assert.equal((await c.cmd('MAIL FROM:<small@remote.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const longLine = 'y'.repeat(5000);
    assert.match((await c.cmd(`Subject: small\r\n\r\n${longLine}\r\n.`)).lines[0], /^250 2\.0\.0 Ok: queued as/);
  } finally {
    c.destroy();
  }
  const after = storedMessages(server.dir);
  assert.equal(after.length, before + 1, 'only the small message is stored');
  assert.ok(after.some((m) => m.text.includes('Subject: small\r\n\r\n' + 'y'.repeat(5000) + '\r\n')), 'a line over 1000 octets is stored unchanged');
  assert.ok(!after.some((m) => m.text.includes('Subject: big')));
});

test('too many recipients: 452 4.5.3 past the limit, the accepted ones still get the message', { timeout: 30000 }, async () => {
  const c = await session();
  try {
    assert.equal((await c.cmd('MAIL FROM:<many@remote.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<postmaster@example.test>')).code, 550, 'counted only when accepted');
    assert.equal((await c.cmd('RCPT TO:<Usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<USR@example.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<uSR@example.test>')).lines[0], '452 4.5.3 Error: too many recipients');
    assert.equal((await c.cmd('DATA')).code, 354);
    assert.match((await c.cmd('Subject: many\r\n\r\nhi\r\n.')).lines[0], /^250 /);
  } finally {
    c.destroy();
  }
});

test('overlong command line: 500 5.5.2, then the session goes on', { timeout: 30000 }, async () => {
  const c = await session();
  try {
    const r = await c.cmd('NOOP ' + 'x'.repeat(600));
    assert.equal(r.lines[0], '500 5.5.2 Error: line too long (more than 512 octets)');
    assert.equal(c.unread, '');
    assert.equal((await c.cmd('NOOP')).lines[0], '250 2.0.0 Ok');
    // A bare LF line is answered, never executed.
    c.send('MAIL FROM:<lf@remote.test>\n');
    assert.equal((await c.reply()).lines[0], '500 5.5.2 Error: bare <LF> received; SMTP lines end with <CR><LF>');
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 503, 'the bare-LF MAIL did not run');
  } finally {
    c.destroy();
  }
});

test('binary noise: 500 replies, 421 after max_errors, and the server keeps serving', { timeout: 30000 }, async () => {
  let seed = 99;
  const noise = Buffer.alloc(4096);
  for (let i = 0; i < noise.length; i++) noise[i] = (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
  const c = await RawSmtp.connect(server.ports.smtp);
  try {
    assert.equal((await c.reply()).code, 220);
    c.send(noise);
    const text = await c.waitClosed();
    const codes = text.split('\r\n').filter(Boolean).map((l) => l.slice(0, 3));
    assert.ok(codes.length >= 1 && codes.slice(0, -1).every((x) => x === '500'), text);
    assert.equal(codes[codes.length - 1], '421', text);
    assert.match(text, /421 4\.7\.0 mail\.example\.test Error: too many errors\r\n$/);
  } finally {
    c.destroy();
  }
  // An endless line with no LF at all is cut off too, without the server buffering it.
  const d = await RawSmtp.connect(server.ports.smtp);
  try {
    await d.reply();
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let i = 0; i < 16 && !d.closed; i++) {
      d.send(chunk);
      await sleep(10);
    }
    const text = await d.waitClosed();
    assert.match(text, /^500 5\.5\.2 Error: line too long .*\r\n421 4\.7\.0 /);
  } finally {
    d.destroy();
  }
  // HTTP to port 25 is hung up on at once.
  const h = await RawSmtp.connect(server.ports.smtp);
  try {
    await h.reply();
    h.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    assert.match(await h.waitClosed(), /^521 5\.7\.0 /);
  } finally {
    h.destroy();
  }
  await stillServing();
});

test('client gone in the middle of DATA: nothing stored, nothing left in the spool', { timeout: 30000 }, async () => {
  const before = storedMessages(server.dir).length;
  const c = await session();
  assert.equal((await c.cmd('MAIL FROM:<gone@remote.test>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
  const r = await c.cmd('DATA');
  assert.equal(r.code, 354);
  // More than the spool's write buffer, so part of it has reached the disk.
  c.send('Subject: half\r\n\r\n' + ('z'.repeat(78) + '\r\n').repeat(5000));
  await sleep(300);
  c.destroy();
  const deadline = Date.now() + 5000;
  while (!/lost connection after DATA \(\d+ octets\) from unknown\[127\.0\.0\.1\]; message discarded/.test(server.readLog())) {
    assert.ok(Date.now() < deadline, 'the abort is logged');
    await sleep(50);
  }
  await sleep(200);
  const after = storedMessages(server.dir);
  assert.equal(after.length, before, 'no file left behind');
  assert.ok(!after.some((m) => m.text.includes('Subject: half')));
  await stillServing();
});

test('too many errors: 421 4.7.0 and the connection is closed', { timeout: 30000 }, async () => {
  const c = await session();
  try {
    for (let i = 0; i < 4; i++) assert.equal((await c.cmd(`BOGUS${i}`)).code, 500);
    const last = await c.cmd('BOGUS5');
    assert.equal(last.lines[0], '500 5.5.2 Error: command not recognized');
    assert.equal((await c.reply()).lines[0], '421 4.7.0 mail.example.test Error: too many errors');
    await c.waitClosed();
  } finally {
    c.destroy();
  }
});

test('idle timeout: 421 4.4.2 and close; a timed-out DATA stores nothing', { timeout: 30000 }, async () => {
  const c = await session();
  try {
    const t0 = Date.now();
    const text = await c.waitClosed(10000);
    assert.match(text, /^421 4\.4\.2 mail\.example\.test Error: timeout exceeded\r\n$/);
    assert.ok(Date.now() - t0 >= 2500, 'not before the configured 3 s');
  } finally {
    c.destroy();
  }
  const before = storedMessages(server.dir).length;
  const d = await session();
  try {
    assert.equal((await d.cmd('MAIL FROM:<slow@remote.test>')).code, 250);
    assert.equal((await d.cmd('RCPT TO:<usr@example.test>')).code, 250);
    assert.equal((await d.cmd('DATA')).code, 354);
    d.send('Subject: slow\r\n\r\nand then nothing');
    assert.match(await d.waitClosed(10000), /^421 4\.4\.2 /);
  } finally {
    d.destroy();
  }
  await sleep(200);
  assert.equal(storedMessages(server.dir).length, before);
});
