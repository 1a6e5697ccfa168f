import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { startSink, randomLoopback } from '../helpers/sink.js';
import { SmtpConnection, SmtpClientError, xtext, type ClientOptions } from '../../src/outbound/client.js';

const opts = (address: string, port: number, extra: Partial<ClientOptions> = {}): ClientOptions => ({
  address, port, hostname: 'mx.remote.test', helo: 'mail.example.test',
  connectTimeout: 5000, commandTimeout: 5000, dataTimeout: 5000, tls: 'opportunistic', tlsVerify: false, ...extra,
});

const tx = (rcpts: string[], message = 'Subject: t\r\n\r\nhi\r\n') => ({
  sender: 'a@example.test', recipients: rcpts.map((address) => ({ address })), eightBit: false, smtputf8: false, message: Buffer.from(message),
});

/** A scripted server: `script(line, write)` answers each command line. */
async function scripted(greeting: string, script: (line: string, write: (s: string) => void, sock: Socket) => void) {
  const host = randomLoopback();
  const lines: string[] = [];
  const srv = createServer((sock) => {
    sock.write(greeting);
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i;
      while ((i = buf.indexOf('\r\n')) >= 0) {
        const l = buf.slice(0, i);
        buf = buf.slice(i + 2);
        lines.push(l);
        script(l, (s) => sock.write(s), sock);
      }
    });
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  return { host, port: (srv.address() as { port: number }).port, lines, close: () => new Promise<void>((r) => srv.close(() => r())) };
}

test('per-recipient replies in one pipelined transaction; the connection carries a second one', { timeout: 30_000 }, async () => {
  const sink = await startSink({ rcptReply: (a) => (a.startsWith('bad') ? '550 5.1.1 unknown' : a.startsWith('later') ? '450 4.2.1 try later' : null) });
  try {
    const c = await SmtpConnection.open(opts(sink.host, sink.port, { tls: 'none' }));
    assert.equal(c.ext.pipelining, true);
    const r = await c.send(tx(['good@remote.test', 'bad@remote.test', 'later@remote.test']));
    assert.deepEqual(r.rcpt.map((x) => x.code), [250, 550, 450]);
    assert.equal(r.data?.code, 250);
    assert.deepEqual(sink.messages[0].rcpts.map((x) => x.address), ['good@remote.test']);
    const i = sink.commands.findIndex((l) => l.startsWith('MAIL FROM'));
    assert.deepEqual(sink.commands.slice(i, i + 5).map((l) => l.split(':')[0].split(' ')[0]), ['MAIL', 'RCPT', 'RCPT', 'RCPT', 'DATA']);
    const r2 = await c.send(tx(['bad@remote.test']));
    assert.deepEqual(r2.rcpt.map((x) => x.code), [550]);
    assert.equal(r2.data, null, 'no data when no recipient was taken');
    assert.ok(sink.commands.includes('RSET'), 'RSET after the failed transaction');
    await c.quit();
    assert.equal(sink.connections, 1);
  } finally {
    await sink.close();
  }
});

test('a HELO-only server without PIPELINING: HELO after a 502 to EHLO, commands one at a time, no ESMTP parameters', { timeout: 30_000 }, async () => {
  const sink = await startSink({ noEhlo: true });
  try {
    const c = await SmtpConnection.open(opts(sink.host, sink.port));
    const r = await c.send({ ...tx(['x@remote.test']), eightBit: true, message: Buffer.from('Subject: é\r\n\r\nbody\r\n') });
    assert.equal(r.data?.code, 250);
    assert.ok(sink.commands.includes('HELO mail.example.test'));
    assert.equal(sink.messages[0].mailParams, '', 'no SIZE/BODY to a server that did not offer them');
    await c.quit();
  } finally {
    await sink.close();
  }
});

test('a message over the server\'s SIZE is refused before it is sent (552 5.3.4)', { timeout: 30_000 }, async () => {
  const sink = await startSink({ extensions: ['SIZE 100'] });
  try {
    const c = await SmtpConnection.open(opts(sink.host, sink.port));
    const r = await c.send(tx(['x@remote.test'], 'Subject: big\r\n\r\n' + 'x'.repeat(200) + '\r\n'));
    assert.equal(r.rcpt[0].code, 552);
    assert.equal(r.rcpt[0].enhanced, '5.3.4');
    assert.ok(!sink.commands.some((l) => l.startsWith('MAIL')));
    await c.quit();
  } finally {
    await sink.close();
  }
});

test('STARTTLS response injection: data after the 220 is never read as a reply inside TLS', { timeout: 30_000 }, async () => {
  const srv = await scripted('220 evil ESMTP\r\n', (l, w) => {
    if (l.startsWith('EHLO')) w('250-evil\r\n250 STARTTLS\r\n');
    else if (l === 'STARTTLS') w('220 go ahead\r\n250 injected\r\n');
  });
  try {
    await assert.rejects(SmtpConnection.open(opts(srv.host, srv.port, { tls: 'required' })), (e: unknown) => e instanceof SmtpClientError && /after its STARTTLS reply/.test(e.message) && e.temporary);
  } finally {
    await srv.close();
  }
});

test('timeouts, refused connections and a 554 greeting are typed errors', { timeout: 30_000 }, async () => {
  const silent = await scripted('', () => undefined);
  const refusing = await scripted('554 5.7.1 no service for you\r\n', () => undefined);
  try {
    const t0 = Date.now();
    await assert.rejects(SmtpConnection.open(opts(silent.host, silent.port, { commandTimeout: 500 })), (e: unknown) => e instanceof SmtpClientError && /timed out .* greeting/.test(e.message) && e.temporary && e.status === '4.4.2');
    assert.ok(Date.now() - t0 < 3000);
    await assert.rejects(SmtpConnection.open(opts(refusing.host, refusing.port)), (e: unknown) => e instanceof SmtpClientError && !e.temporary && e.status === '5.7.1');
    await assert.rejects(SmtpConnection.open(opts(randomLoopback(), 9)), (e: unknown) => e instanceof SmtpClientError && /Connection refused/.test(e.message) && e.temporary);
  } finally {
    await silent.close();
    await refusing.close();
  }
});

test('xtext (RFC 3461 4)', () => {
  assert.equal(xtext('a+b=c d'), 'a+2Bb+3Dc+20d');
  assert.equal(xtext('ñ'), '+C3+B1');
});
