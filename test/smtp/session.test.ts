import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawSmtp, storedMessages, dialogue } from './client.js';
import { needs } from '../helpers/peers.js';

/** Runs swaks against the test server; resolves with its exit code and transcript. */
function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('swaks', ['--helo', 'client.remote.test', '--timeout', '20', ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, out: stdout + stderr });
    });
  });
}

/** Every message of a mailbox as Python's poplib reads it (STLS, USER/PASS, RETR), byte-exact. */
function popRetrieveAll(port: number, user: string, password: string): Promise<Buffer[]> {
  const script = `
import poplib, ssl, sys
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
p = poplib.POP3('127.0.0.1', int(sys.argv[1]), timeout=20)
p.stls(ctx)
p.user(sys.argv[2]); p.pass_(sys.argv[3])
for i in range(1, p.stat()[0] + 1):
    resp, lines, octets = p.retr(i)
    sys.stdout.buffer.write(b'\\r\\n'.join(lines) + b'\\r\\n\\0')
p.quit()
`;
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, String(port), user, password], { encoding: 'buffer', timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`poplib: ${stderr.toString()}`));
      const parts: Buffer[] = [];
      let start = 0;
      for (let i = stdout.indexOf(0); i >= 0; i = stdout.indexOf(0, start)) {
        parts.push(stdout.subarray(start, i));
        start = i + 1;
      }
      resolve(parts);
    });
  });
}

let server: TestServer;
let smtpsPort = 0;

test.before(async () => {
  server = await startServer({ toml: '[smtp]\nlisten_tls = ["127.0.0.1:0"]\n' });
  smtpsPort = (JSON.parse(readFileSync(join(server.dir, 'listening.json'), 'utf8')) as Record<string, { port: number }[]>).smtps[0].port;
  await server.addUser('usr@example.test', 'secret-pw-1');
  // postmaster -> root -> the configured admins
  await server.addUser('admin@example.test', 'secret-pw-2');
});
test.after(async () => {
  await server?.stop();
});

test('swaks delivers to a local user; the stored message has Return-Path, Received with the queue id, the body', { timeout: 60000, ...needs('swaks', 'python3') }, async () => {
  const body = 'Hola, caf\u00e9 \u2615\nsecond line\n.leading dot\n';
  const r = await swaks(['--server', `127.0.0.1:${server.ports.smtp}`, '--to', 'usr@example.test', '--from', 'x@remote.test',
    '--header', 'Subject: swaks test', '--body', body]);
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /<- +220 mail\.example\.test ESMTP Correo/);
  for (const ext of ['PIPELINING', 'SIZE 26214400', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'STARTTLS', 'DSN']) {
    assert.match(r.out, new RegExp(`<- +250[- ]${ext}\\n`), `EHLO advertises ${ext}`);
  }
  const m = /250 2\.0\.0 Ok: queued as ([A-Z0-9]+)/.exec(r.out);
  assert.ok(m, r.out);
  const id = m[1];
  const stored = storedMessages(server.dir).find((s) => s.id === id);
  assert.ok(stored, `blob ${id} exists`);
  const text = stored.text.toString('utf8');
  assert.ok(text.startsWith('Return-Path: <x@remote.test>\r\nReceived: from client.remote.test (unknown [127.0.0.1])\r\n'), text);
  assert.match(text, new RegExp(`\\tby mail\\.example\\.test \\(Correo\\) with ESMTP id ${id}\\r\\n\\tfor <usr@example\\.test>; \\w{3}, \\d{1,2} \\w{3} \\d{4} \\d\\d:\\d\\d:\\d\\d \\+0000\\r\\n`));
  assert.ok(text.includes('Subject: swaks test\r\n'));
  assert.ok(text.includes('Hola, caf\u00e9 \u2615\r\nsecond line\r\n.leading dot\r\n'), 'body byte-exact in UTF-8, CRLF, dot-unstuffed');
  assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(text), 'stored message is CRLF only');
  assert.match(server.readLog(), new RegExp(`${id}: from=<x@remote\\.test>, size=\\d+, nrcpt=1`), 'log line with the queue id');
  // A real client reads the same bytes back from the mailbox (local delivery is asynchronous).
  let popped: Buffer | undefined;
  for (let i = 0; i < 100 && !popped; i++) {
    popped = (await popRetrieveAll(server.ports.pop3, 'usr@example.test', 'secret-pw-1')).find((m) => m.includes(`id ${id}`));
    if (!popped) await sleep(100);
  }
  assert.ok(popped, 'message delivered to the mailbox');
  assert.ok(popped.equals(stored.text), 'POP3 RETR returns the stored message byte for byte');
});

test('unknown local user: 550 5.1.1 at RCPT; relay attempt: 550 5.7.1', { timeout: 60000, ...needs('swaks') }, async () => {
  const unknown = await swaks(['--server', `127.0.0.1:${server.ports.smtp}`, '--to', 'nobody@example.test', '--from', 'x@remote.test', '--quit-after', 'RCPT']);
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.out, /<\*\* +550 5\.1\.1 <nobody@example\.test>/);
  const relay = await swaks(['--server', `127.0.0.1:${server.ports.smtp}`, '--to', 'someone@remote.test', '--from', 'x@remote.test', '--quit-after', 'RCPT']);
  assert.notEqual(relay.code, 0);
  assert.match(relay.out, /<\*\* +550 5\.7\.1 <someone@remote\.test>: Relay access denied/);
  assert.match(server.readLog(), /NOQUEUE: reject: RCPT from unknown\[127\.0\.0\.1\]: 550 5\.7\.1 .*to=<someone@remote\.test>/);
});

test('relay tricks are refused or unknown, never accepted', { timeout: 60000 }, async () => {
  const c = await RawSmtp.connect(server.ports.smtp);
  try {
    await c.reply();
    assert.equal((await c.cmd('EHLO client.test')).code, 250);
    assert.equal((await c.cmd('MAIL FROM:<x@remote.test>')).code, 250);
    const tricks: [string, string][] = [
      ['<someone%remote.test@example.test>', '550 5.1.1'],
      ['<remote.test!someone@example.test>', '550 5.1.1'],
      ['<"someone@remote.test"@example.test>', '550 5.1.1'],
      ['<@example.test:someone@remote.test>', '550 5.7.1'],
      ['<someone@remote.test@example.test>', '501 5.1.3'],
      ['<someone@[127.0.0.1]>', '550 5.7.1'],
      ['<someone@example.test.>', '501 5.1.3'],
    ];
    for (const [path, want] of tricks) {
      const r = await c.cmd(`RCPT TO:${path}`);
      assert.equal(r.lines[0].slice(0, 9), want, `${path}: ${r.raw}`);
    }
    // The source-routed local address is accepted as the local user it names.
    assert.equal((await c.cmd('RCPT TO:<@relay.remote.test:usr@example.test>')).code, 250);
    assert.equal((await c.cmd('RSET')).code, 250);
  } finally {
    c.destroy();
  }
});

test('command sequence, VRFY/EXPN privacy, HELP, NOOP, RSET, HELO', { timeout: 60000 }, async () => {
  const c = await RawSmtp.connect(server.ports.smtp);
  try {
    await c.reply();
    assert.equal((await c.cmd('MAIL FROM:<a@remote.test>')).lines[0], '503 5.5.1 Error: send HELO/EHLO first');
    assert.equal((await c.cmd('HELO client.test')).lines[0], '250 mail.example.test');
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).lines[0], '503 5.5.1 Error: need MAIL command');
    assert.equal((await c.cmd('DATA')).lines[0], '503 5.5.1 Error: need MAIL command');
    assert.equal((await c.cmd('MAIL FROM:<a@remote.test>')).lines[0], '250 2.1.0 Ok');
    assert.equal((await c.cmd('MAIL FROM:<a@remote.test>')).lines[0], '503 5.5.1 Error: nested MAIL command');
    assert.equal((await c.cmd('DATA')).lines[0], '503 5.5.1 Error: need RCPT command');
    assert.equal((await c.cmd('VRFY usr@example.test')).lines[0], '252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery');
    assert.equal((await c.cmd('VRFY nobody@example.test')).lines[0], '252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery', 'VRFY tells nothing');
    assert.equal((await c.cmd('EXPN postmaster')).lines[0], '502 5.5.1 Error: EXPN not available');
    const help = await c.cmd('HELP');
    assert.equal(help.code, 214);
    assert.equal((await c.cmd('NOOP')).lines[0], '250 2.0.0 Ok');
    assert.equal((await c.cmd('RSET')).lines[0], '250 2.0.0 Ok');
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 503, 'RSET ended the transaction');
    assert.equal((await c.cmd('RCPT TO:<Postmaster>')).code, 503);
    assert.equal((await c.cmd('MAIL FROM:<>')).code, 250, 'null sender');
    assert.equal((await c.cmd('RCPT TO:<Postmaster>')).lines[0], '250 2.1.5 Ok', 'bare Postmaster (RFC 5321 4.1.1.3)');
    assert.equal((await c.cmd('QUIT')).lines[0], '221 2.0.0 Bye');
    await c.waitClosed();
  } finally {
    c.destroy();
  }
  // A fresh connection: the one above used up most of its error allowance (max_errors = 10).
  await dialogue(server.ports.smtp, [
    ['EHLO client.test', 250],
    ['MAIL FROM:<a@remote.test>', 250],
    ['STARTTLS', 503],
    ['AUTH PLAIN AGFAYg==', 502],
    ['FOO bar', 500],
    ['mail from:<b@remote.test>', 503],
    ['rset', 250],
    ['QUIT', 221],
  ]);
});

test('PIPELINING: a whole transaction in one write gets all replies, in order', { timeout: 60000 }, async () => {
  const before = storedMessages(server.dir).length;
  const c = await RawSmtp.connect(server.ports.smtp);
  try {
    await c.reply();
    assert.equal((await c.cmd('EHLO client.test')).code, 250);
    c.send('MAIL FROM:<p@remote.test> SIZE=100\r\nRCPT TO:<nobody@example.test>\r\nRCPT TO:<usr@example.test>\r\nRCPT TO:<usr@example.test>\r\nDATA\r\n');
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await c.reply()).code);
    assert.deepEqual(codes, [250, 550, 250, 250, 354]);
    c.send('Subject: pipelined\r\n\r\nbody\r\n.\r\nMAIL FROM:<p@remote.test>\r\nRCPT TO:<usr@example.test>\r\nDATA\r\n');
    const done = await c.reply();
    assert.match(done.lines[0], /^250 2\.0\.0 Ok: queued as [A-Z0-9]+$/);
    assert.equal((await c.reply()).code, 250);
    assert.equal((await c.reply()).code, 250);
    assert.equal((await c.reply()).code, 354);
    c.send('Subject: second\r\n\r\nx\r\n.\r\nQUIT\r\n');
    assert.equal((await c.reply()).code, 250);
    assert.equal((await c.reply()).code, 221);
    await c.waitClosed();
  } finally {
    c.destroy();
  }
  const stored = storedMessages(server.dir);
  assert.equal(stored.length, before + 2);
  const first = stored.find((s) => s.text.includes('Subject: pipelined'));
  assert.ok(first);
  assert.match(first.text.toString(), /for <usr@example\.test>;/, 'a repeated recipient is counted once');
});

test('PIPELINING: the replies to one pipelined group leave in one write (RFC 2920 3.2), not one write per reply', { timeout: 60000 }, async () => {
  const sock = connect(server.ports.smtp, '127.0.0.1');
  try {
    const chunks: string[] = [];
    let wake: (() => void) | null = null;
    sock.on('data', (d: Buffer) => {
      chunks.push(d.toString('latin1'));
      wake?.();
    });
    const until = async (re: RegExp): Promise<void> => {
      while (!re.test(chunks.join(''))) await new Promise<void>((r) => (wake = r));
    };
    await until(/^220 .*\r\n/m);
    sock.write('EHLO client.test\r\n');
    await until(/^250 .*\r\n/m);
    chunks.length = 0;
    sock.write('MAIL FROM:<g@remote.test>\r\nRCPT TO:<usr@example.test>\r\nRCPT TO:<nobody@example.test>\r\nDATA\r\n');
    await until(/^354 /m);
    // One write(2) of a few hundred octets arrives on loopback as one read; a write per reply, with
    // the awaits of each RCPT check in between, arrives as several.
    assert.equal(chunks.length, 1, `replies arrived in ${chunks.length} pieces: ${JSON.stringify(chunks)}`);
    assert.deepEqual(chunks[0].split('\r\n').filter(Boolean).map((l) => l.slice(0, 3)), ['250', '250', '550', '354']);
  } finally {
    sock.destroy();
  }
});

test('STARTTLS with swaks; EHLO inside TLS no longer offers STARTTLS; Received says ESMTPS and the cipher', { timeout: 60000, ...needs('swaks') }, async () => {
  const r = await swaks(['--server', `127.0.0.1:${server.ports.smtp}`, '--to', 'usr@example.test', '--from', 'tls@remote.test', '--tls',
    '--header', 'Subject: over tls', '--body', 'secret']);
  assert.equal(r.code, 0, r.out);
  const m = /250 2\.0\.0 Ok: queued as ([A-Z0-9]+)/.exec(r.out);
  assert.ok(m);
  const afterTls = r.out.slice(r.out.indexOf('TLS started'));
  assert.ok(!/250[- ]STARTTLS/.test(afterTls), 'STARTTLS not offered after TLS');
  const stored = storedMessages(server.dir).find((s) => s.id === m[1]);
  assert.ok(stored);
  assert.match(stored.text.toString(), new RegExp(`with ESMTPS id ${m[1]}\\r\\n\\t\\(using TLSv1\\.[23] with cipher [A-Z0-9_-]+\\)`));
});

test('SMTPUTF8 addresses and DSN parameters are accepted end to end', { timeout: 60000 }, async () => {
  await dialogue(server.ports.smtp, [
    ['EHLO client.test', 250],
    ['MAIL FROM:<j\u00f6rg@b\u00fccher.test> SMTPUTF8 BODY=8BITMIME RET=HDRS ENVID=QQ+2B1', 250],
    ['RCPT TO:<usr@example.test> NOTIFY=FAILURE,DELAY ORCPT=rfc822;usr@example.test', 250],
    ['DATA', 354],
    ['Subject: utf8\r\n\r\nhi\r\n.', 250],
    ['QUIT', 221],
  ].map(([l, c]) => [Buffer.from(l as string, 'utf8').toString('latin1'), c as number]));
  const stored = storedMessages(server.dir).find((s) => s.text.includes('Subject: utf8'));
  assert.ok(stored);
  assert.ok(stored.text.toString('utf8').startsWith('Return-Path: <j\u00f6rg@b\u00fccher.test>\r\n'));
  assert.match(stored.text.toString(), /with UTF8SMTP id /);
});

test('implicit TLS listener (smtp listen_tls): greeting inside TLS, no STARTTLS offered, mail accepted as ESMTPS', { timeout: 60000 }, async () => {
  const c = await RawSmtp.connectTls(smtpsPort);
  try {
    assert.equal((await c.reply()).lines[0], '220 mail.example.test ESMTP Correo');
    const ehlo = await c.cmd('EHLO client.test');
    assert.ok(!ehlo.lines.some((l) => l.includes('STARTTLS')));
    assert.equal((await c.cmd('MAIL FROM:<tls@remote.test>')).code, 250);
    assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
    assert.equal((await c.cmd('DATA')).code, 354);
    const r = await c.cmd('Subject: implicit tls\r\n\r\nx\r\n.');
    const id = /queued as ([A-Z0-9]+)/.exec(r.lines[0])![1];
    assert.match(storedMessages(server.dir).find((m) => m.id === id)!.text.toString(), /with ESMTPS id /);
  } finally {
    c.destroy();
  }
  // Plaintext SMTP and noise on the TLS port: the handshake fails, that connection closes, nothing else.
  const p = await RawSmtp.connect(smtpsPort);
  try {
    p.send('EHLO plain.test\r\n');
    p.send(Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131) & 0xff)));
    await p.waitClosed();
    assert.ok(!/^2\d\d/m.test(p.unread), 'no SMTP reply in plaintext');
  } finally {
    p.destroy();
  }
  await dialogue(server.ports.smtp, [['EHLO still.test', 250], ['QUIT', 221]]);
});

test('twenty sessions at once, each with three messages: every 250 has its message stored, once', { timeout: 60000 }, async () => {
  const before = storedMessages(server.dir).length;
  const ids = await Promise.all(
    Array.from({ length: 20 }, async (_, n) => {
      const c = await RawSmtp.connect(server.ports.smtp);
      const got: string[] = [];
      try {
        await c.reply();
        await c.cmd(`EHLO c${n}.test`);
        for (let k = 0; k < 3; k++) {
          c.send(`MAIL FROM:<s${n}@remote.test>\r\nRCPT TO:<usr@example.test>\r\nDATA\r\n`);
          assert.equal((await c.reply()).code, 250);
          assert.equal((await c.reply()).code, 250);
          assert.equal((await c.reply()).code, 354);
          const r = await c.cmd(`Subject: concurrent ${n}/${k}\r\n\r\n${'z'.repeat(n * 100)}\r\n.`);
          got.push(/queued as ([A-Z0-9]+)/.exec(r.lines[0])![1]);
        }
        assert.equal((await c.cmd('QUIT')).code, 221);
      } finally {
        c.destroy();
      }
      return got;
    }),
  );
  const all = ids.flat();
  assert.equal(new Set(all).size, 60, 'distinct queue ids');
  const stored = storedMessages(server.dir);
  assert.equal(stored.length, before + 60);
  for (let n = 0; n < 20; n++) {
    for (let k = 0; k < 3; k++) {
      const m = stored.find((s) => s.id === ids[n][k]);
      assert.ok(m && m.text.includes(`Subject: concurrent ${n}/${k}\r\n\r\n${'z'.repeat(n * 100)}\r\n`), `${n}/${k}`);
    }
  }
});
