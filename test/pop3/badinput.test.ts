/**
 * Bad input on the POP3 ports (issue 2, "Bad input"): each case gets a clear -ERR or a close,
 * nothing is lost, and the server keeps serving. Transcripts over a raw socket.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { startServer, type TestServer } from '../helpers/server.js';
import { deliver, python, simpleMessage, RawClient } from './helpers.js';
import { needs } from '../helpers/peers.js';

let server: TestServer;

before(async () => {
  server = await startServer();
  await server.addUser('usr1@example.test', 'secret1');
  await deliver(server, 'usr1@example.test', simpleMessage('kept'));
});

after(async () => {
  await server?.stop();
});

/** The server still answers a full login (over 995) and still holds the message. */
async function stillServing(): Promise<void> {
  const c = await loggedIn();
  try {
    const stat = await c.cmd('STAT');
    const n = Number(/^\+OK (\d+) /.exec(stat)?.[1] ?? 0);
    assert.ok(n >= 1, `the message is still there: ${stat}`);
    await c.cmd('QUIT');
  } finally {
    c.destroy();
  }
}

async function loggedIn(): Promise<RawClient> {
  const c = await RawClient.connect(server.ports.pop3s, { tls: true });
  await c.line();
  assert.match(await c.cmd('USER usr1@example.test'), /^\+OK/);
  assert.match(await c.cmd('PASS secret1'), /^\+OK Maildrop has/);
  return c;
}

test('STLS injection: commands pipelined after STLS are discarded, never run inside TLS (RFC 2595 4)', { timeout: 60000 }, async () => {
  const c = await RawClient.connect(server.ports.pop3);
  try {
    await c.line();
    c.write('STLS\r\nSTAT\r\nUSER usr1@example.test\r\n');
    assert.equal(await c.line(), '+OK Begin TLS negotiation');
    assert.equal(await c.quietFor(200), '', 'nothing answered in plaintext after STLS');
    await c.upgrade();
    assert.equal(await c.quietFor(300), '', 'nothing answered inside TLS for the injected commands');
    // Had the injected USER run inside TLS, PASS would now log in.
    assert.equal(await c.cmd('PASS secret1'), '-ERR USER first');
    assert.equal(await c.cmd('CAPA'), '+OK Capability list follows');
    const capa = await c.multi();
    assert.ok(capa.includes('USER') && !capa.includes('STLS'), capa.join(','));
    assert.equal(await c.cmd('STLS'), '-ERR Command not permitted when TLS active');
  } finally {
    c.destroy();
  }
  const sessionLog = server.readLog().split('\n').filter((l) => l.includes('command: STAT') || l.includes('command: USER usr1@example.test'));
  assert.deepEqual(sessionLog, [], 'the injected commands were never executed');
});

test('an overlong line gets -ERR Line too long and the session goes on (RFC 2449 4: 255 octets)', { timeout: 60000 }, async () => {
  const c = await loggedIn();
  try {
    assert.equal(await c.cmd('NOOP ' + 'x'.repeat(300)), '-ERR Line too long');
    assert.equal(await c.cmd(`USER ${'a'.repeat(245)}`), '-ERR Command not valid in this state', 'a 255-octet line is read');
    assert.match(await c.cmd('STAT'), /^\+OK 1 \d+$/);
    assert.match(await c.cmd('QUIT'), /^\+OK/);
  } finally {
    c.destroy();
  }
});

test('a flood without line ends is cut off after too many errors, without buffering it', { timeout: 60000 }, async () => {
  const c = await RawClient.connect(server.ports.pop3);
  try {
    await c.line();
    c.write(Buffer.alloc(200_000, 0x41));
    assert.equal(await c.line(), '-ERR Line too long');
    assert.equal(await c.line(), '-ERR Too many errors, closing connection');
    assert.ok(await c.waitClosed(5000), 'closed');
  } finally {
    c.destroy();
  }
  await stillServing();
});

test('binary noise gets -ERR replies, then a close; on the TLS port a failed handshake; the server keeps serving', { timeout: 60000 }, async () => {
  const noise = Buffer.concat([randomBytes(3000), Buffer.from('\r\n\0\xff\n\x01\x02\r\n', 'latin1'), randomBytes(3000), Buffer.from('\n'.repeat(20))]);
  const c = await RawClient.connect(server.ports.pop3);
  try {
    assert.match(await c.line(), /^\+OK/);
    c.write(noise);
    const lines: string[] = [];
    for (;;) {
      let l: string;
      try {
        l = await c.line(5000);
      } catch {
        break;
      }
      lines.push(l);
    }
    assert.ok(lines.length >= 2, `replies: ${JSON.stringify(lines)}`);
    for (const l of lines) assert.match(l, /^-ERR /);
    assert.equal(lines[lines.length - 1], '-ERR Too many errors, closing connection');
    assert.ok(await c.waitClosed(5000));
  } finally {
    c.destroy();
  }

  // Plain bytes to the implicit-TLS port: the handshake fails, the connection closes.
  const raw = net.connect(server.ports.pop3s, '127.0.0.1');
  const closed = new Promise<void>((r) => raw.on('close', () => r()));
  raw.on('error', () => {});
  raw.write(noise);
  await closed;

  // Noise inside a logged-in TLS session.
  const t = await loggedIn();
  try {
    t.write(Buffer.from([0, 1, 2, 3, 0xff, 13, 10]));
    assert.equal(await t.line(), '-ERR Invalid characters in command');
    assert.equal(await t.cmd('\u00e9\u00e9\u00e9'), '-ERR Unknown command');
    assert.match(await t.cmd('STAT'), /^\+OK 1 /);
    t.destroy();
  } finally {
    t.destroy();
  }
  await stillServing();
});

test('unknown commands, wrong states and bad arguments get -ERR; ten errors end the session', { timeout: 60000 }, async () => {
  const c = await RawClient.connect(server.ports.pop3s, { tls: true });
  try {
    await c.line();
    assert.equal(await c.cmd('RETR 1'), '-ERR Command not valid in this state');
    assert.equal(await c.cmd('APOP usr1 0123456789abcdef0123456789abcdef'), '-ERR Unknown command');
    assert.equal(await c.cmd('PASS secret1'), '-ERR USER first');
    assert.match(await c.cmd('USER usr1@example.test'), /^\+OK/);
    assert.match(await c.cmd('PASS secret1'), /^\+OK/);
    assert.equal(await c.cmd('RETR'), '-ERR Syntax error in arguments');
    assert.equal(await c.cmd('RETR abc'), '-ERR No such message');
    assert.equal(await c.cmd('RETR 0'), '-ERR No such message');
    assert.equal(await c.cmd('RETR 99'), '-ERR No such message');
    assert.equal(await c.cmd('TOP 1 -1'), '-ERR Syntax error in arguments');
    assert.equal(await c.cmd('LIST 1 2'), '-ERR Syntax error in arguments');
    assert.equal(await c.cmd('USER again'), '-ERR Command not valid in this state');
    for (let i = 0; i < 4; i++) assert.equal(await c.cmd('XYZZY'), '-ERR Unknown command');
    assert.equal(await c.cmd('XYZZY'), '-ERR Too many errors, closing connection');
    assert.ok(await c.waitClosed(5000));
  } finally {
    c.destroy();
  }
  // The lock went with the session.
  await stillServing();
});

test('pipelined commands are answered in order (RFC 2449 6.6)', { timeout: 60000 }, async () => {
  const c = await RawClient.connect(server.ports.pop3s, { tls: true });
  try {
    await c.line();
    c.write('CAPA\r\nUSER usr1@example.test\r\nPASS secret1\r\nSTAT\r\nLIST\r\nUIDL 1\r\nTOP 1 0\r\nNOOP\r\nQUIT\r\n');
    assert.equal(await c.line(), '+OK Capability list follows');
    assert.ok((await c.multi()).includes('PIPELINING'));
    assert.match(await c.line(), /^\+OK Send your password/);
    assert.match(await c.line(), /^\+OK Maildrop has 1 messages/);
    assert.match(await c.line(), /^\+OK 1 \d+$/);
    assert.match(await c.line(), /^\+OK 1 messages/);
    assert.deepEqual((await c.multi()).length, 1);
    assert.match(await c.line(), /^\+OK 1 \d+\.\d+$/);
    assert.equal(await c.line(), '+OK Top of message follows');
    assert.ok((await c.multi()).includes('Subject: kept'));
    assert.equal(await c.line(), '+OK');
    assert.match(await c.line(), /^\+OK mail\.example\.test Correo POP3 server signing off \(1 messages left\)$/);
    assert.ok(await c.waitClosed(5000));
  } finally {
    c.destroy();
  }
});

test('a client gone in the middle of a large RETR loses nothing and leaves the server serving', { timeout: 120000, ...needs('python3') }, async () => {
  const line = 'x'.repeat(998) + '\r\n';
  await deliver(server, 'usr1@example.test', simpleMessage('big', line.repeat(6000)));
  const c = await loggedIn();
  assert.match(await c.cmd('DELE 1'), /^\+OK/);
  c.write('RETR 2\r\n');
  assert.match(await c.line(), /^\+OK \d{7} octets$/);
  c.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const r = await python(server, `
for attempt in range(100):
    try:
        p = login('tls'); break
    except poplib.error_proto as e:
        if 'IN-USE' not in err(e): raise
        time.sleep(0.05)
n = p.stat()[0]
resp, lines, octets = p.retr(2)
p.quit()
out({'n': n, 'lines': len(lines)})
`, 60000);
  assert.equal(r.n, 2, 'neither message deleted');
  assert.ok(r.lines > 6000, 'the big message is whole');
  assert.match(server.readLog(), /logout: user=usr1@example\.test, .*reason=disconnected/);
});

test('a server shutdown tells open sessions and deletes nothing', { timeout: 60000, ...needs('python3') }, async () => {
  const c = await loggedIn();
  assert.match(await c.cmd('DELE 1'), /^\+OK/);
  const restarting = server.restart();
  assert.equal(await c.line(), '-ERR [SYS/TEMP] Server shutting down');
  assert.ok(await c.waitClosed(5000));
  await restarting;
  const r = await python(server, `
p = login('tls')
n = p.stat()[0]
p.quit()
out({'n': n})
`);
  assert.equal(r.n, 2);
});
