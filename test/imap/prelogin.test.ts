import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { Imap, imapServer, PASS } from './client.js';
import type { TestServer } from '../helpers/server.js';
import { needs } from '../helpers/peers.js';

/**
 * Issue 9 item 1: before login a literal, a line and a command are small ([imap]
 * max_literal_before_login, max_command_before_login, max_literals_before_login), and
 * non-synchronising literals follow RFC 7888 LITERAL- (4096 octets at most).
 */
let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('prelogin: a 50 MiB synchronising literal is refused with NO [TOOBIG], no "+"; the session goes on', { timeout: 30000 }, async () => {
  const c = await Imap.open(srv.ports.imap);
  try {
    c.write('a LOGIN {52428800}\r\n');
    assert.match(await c.line(), /^a NO \[TOOBIG\] literal of 52428800 octets is over the limit of 8192$/);
    // Just over the limit is refused too; within it, the "+" comes and LOGIN works.
    let r = await c.cmdLiteral('LOGIN usr1@example.test', Buffer.alloc(8193, 'p'));
    assert.match(r.tagged, /^A1 NO \[TOOBIG\]/);
    r = await c.cmdLiteral('LOGIN usr1@example.test', PASS);
    assert.match(r.tagged, /^A2 OK \[CAPABILITY [^\]]* LITERAL\+ /);
    // After login APPENDLIMIT applies: 100 KiB is fine.
    r = await c.cmdLiteral('APPEND INBOX', `Subject: big\r\n\r\n${'x'.repeat(100 * 1024)}\r\n`);
    assert.match(r.tagged, /^A3 OK \[APPENDUID /);
  } finally {
    c.close();
  }
});

test('prelogin: LITERAL- is advertised before login; a non-synchronising literal over 4096 octets ends the connection', { timeout: 30000 }, async () => {
  let c = await Imap.open(srv.ports.imap);
  try {
    assert.match(c.greeting, / LITERAL- /);
    assert.doesNotMatch(c.greeting, /LITERAL\+/);
    // 4096 octets is within LITERAL-: the command runs.
    c.write(`a LOGIN usr1@example.test {4096+}\r\n${'p'.repeat(4096)}\r\n`);
    assert.match(await c.line(), /^a NO \[AUTHENTICATIONFAILED\]/);
    c.write(`b LOGIN usr1@example.test {4097+}\r\n${'p'.repeat(4097)}\r\n`);
    assert.match(await c.line(), /^\* BYE \[ALERT\] non-synchronising literal of 4097 octets is over the limit of 4096 \(RFC 7888 LITERAL-\)$/);
    await waitClosed(c);
  } finally {
    c.close();
  }
  c = await Imap.open(srv.ports.imap);
  try {
    c.write('a LOGIN usr1@example.test {52428800+}\r\n');
    c.write(Buffer.alloc(1024 * 1024, 'x'));
    assert.match(await c.line(), /^\* BYE \[ALERT\] .*52428800/);
    await waitClosed(c);
  } finally {
    c.close();
  }
});

test('prelogin: line length, literals per command and command size are bounded before login', { timeout: 30000 }, async () => {
  const c = await Imap.open(srv.ports.imap);
  try {
    const r = await c.cmd('NOOP');
    assert.match(r.tagged, /^A1 OK/);
    // Two 8,000-octet literals fit in 16 KiB; a third makes the command too big.
    const tag = c.nextTag();
    c.write(`${tag} ID ("a" {8000}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(`${'x'.repeat(8000)} "b" {8000}\r\n`);
    assert.match(await c.line(), /^\+ /);
    c.write(`${'x'.repeat(8000)} "c" {8000}\r\n`);
    assert.equal(await c.line(), `${tag} NO [TOOBIG] command too long`);
    // Nine literals (the limit is 8): the ninth is refused.
    const lits = Array.from({ length: 9 }, (_, i) => `"k${i}" {1+}\r\nv`).join(' ');
    c.write(`b ID (${lits})\r\n`);
    assert.match(await c.line(), /^\* BYE \[ALERT\] more than 8 literals in one command$/);
    await waitClosed(c);
  } finally {
    c.close();
  }
  // A 20,000-octet line (the limit after login is 64 KiB): the stranger is cut off before
  // the server reads more of it.
  const l = await Imap.open(srv.ports.imap);
  try {
    l.write(`a ID ("name" "${'n'.repeat(20000)}")\r\n`);
    assert.equal(await l.line(), '* BYE [ALERT] command line too long (more than 16384 octets before login)');
    await waitClosed(l);
  } finally {
    l.close();
  }
  // After login the same line is a BAD, and the session goes on.
  const li = await Imap.open(srv.ports.imap);
  try {
    await li.login('usr1@example.test', PASS);
    li.write(`b ID ("name" "${'n'.repeat(70000)}")\r\n`);
    assert.equal(await li.line(), 'b BAD command line too long');
    assert.match((await li.cmd('NOOP')).tagged, /OK/);
  } finally {
    li.close();
  }
  // Eight are fine.
  const d = await Imap.open(srv.ports.imap);
  try {
    const lits = Array.from({ length: 4 }, (_, i) => `{2+}\r\nk${i} {1+}\r\nv`).join(' ');
    d.write(`c ID (${lits})\r\n`);
    const r = await d.until('c');
    assert.match(r.tagged, /^c OK/);
    assert.match(r.untagged[0], /^\* ID /);
  } finally {
    d.close();
  }
});

/** The server's resident memory, from /proc (Linux). */
function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  assert.ok(m, 'VmRSS in /proc/PID/status');
  return Number(m[1]);
}

/** One attacker: announces a 50 MiB literal before login and sends the bytes whatever the answer. */
async function attack(port: number, nonSync: boolean, junk: Buffer): Promise<string> {
  const c = await Imap.open(port);
  try {
    c.write(`a LOGIN {${junk.length}${nonSync ? '+' : ''}}\r\n`);
    c.write(junk);
    c.write('\r\nz NOOP\r\n');
    const lines: string[] = [];
    for (;;) {
      let l: string;
      try {
        l = await c.line(60_000);
      } catch (e) {
        if (c.closed) return lines.join('\n');
        throw e;
      }
      lines.push(l);
      if (l.startsWith('z ')) return lines.join('\n');
    }
  } finally {
    c.close();
  }
}

test('prelogin: 8 connections sending 50 MiB literals before login leave the server\'s RSS bounded', { timeout: 180000 }, async () => {
  // Warm up (first TLS context, first sessions), then measure.
  for (let i = 0; i < 2; i++) {
    const w = await Imap.open(srv.ports.imap);
    await w.cmd('CAPABILITY');
    w.close();
  }
  const base = rssKiB(srv.pid);
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKiB(srv.pid))), 20);
  const junk = Buffer.alloc(52428800, 'x');
  let answers: string[];
  try {
    answers = await Promise.all([
      ...Array.from({ length: 6 }, () => attack(srv.ports.imap, false, junk)),
      ...Array.from({ length: 2 }, () => attack(srv.ports.imap, true, junk)),
    ]);
  } finally {
    clearInterval(sampler);
  }
  // The refused bytes are not kept: RSS comes back near where it was (waiting for the collector).
  const limitKiB = base + 20 * 1024;
  const deadline = Date.now() + 30_000;
  let now = rssKiB(srv.pid);
  while (now > limitKiB && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    now = rssKiB(srv.pid);
  }
  const mib = (k: number) => (k / 1024).toFixed(1);
  console.log(`# RSS before ${mib(base)} MiB, peak ${mib(peak)} MiB, after ${mib(now)} MiB`);
  for (const a of answers.slice(0, 6)) {
    assert.match(a, /^a NO \[TOOBIG\]/, 'the synchronising literal is refused, no "+"');
    assert.match(a, /\n\* BYE \[ALERT\] command line too long/, 'the bytes sent anyway end the connection');
  }
  for (const a of answers.slice(6)) assert.match(a, /^\* BYE \[ALERT\]/);
  assert.ok(now <= limitKiB, `RSS grew from ${mib(base)} to ${mib(now)} MiB (peak ${mib(peak)})`);
  // 8 x 50 MiB were sent; buffering even one literal would show in the peak.
  assert.ok(peak - base < 48 * 1024, `peak RSS ${mib(peak)} MiB against ${mib(base)} MiB before`);
});

test('prelogin: Python imaplib: an oversized literal before login is refused, a small one logs in', { timeout: 60000, ...needs('python3') }, async () => {
  const py = `
import imaplib, sys
M = imaplib.IMAP4('127.0.0.1', ${srv.ports.imap})
assert b'LITERAL-' in M.welcome, M.welcome
M.literal = b'p' * 100000
typ, dat = M._simple_command('LOGIN', 'usr1@example.test')
print('big', typ, dat[0].decode())
typ, dat = M.noop()
print('noop', typ)
M.literal = ${JSON.stringify(PASS)}.encode()
typ, dat = M._simple_command('LOGIN', 'usr1@example.test')
print('small', typ)
M.state = 'AUTH'
typ, dat = M.select('INBOX')
print('select', typ)
M.logout()
`;
  const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout.split('\n');
  assert.match(out[0], /^big NO \[TOOBIG\] literal of 100000 octets is over the limit of 8192$/);
  assert.equal(out[1], 'noop OK');
  assert.equal(out[2], 'small OK');
  assert.equal(out[3], 'select OK');
});

async function waitClosed(c: Imap): Promise<void> {
  // line() throws once the server has closed and nothing is left to read.
  for (;;) {
    try {
      await c.line();
    } catch (e) {
      assert.ok(c.closed, `expected the server to close: ${(e as Error).message}`);
      return;
    }
  }
}
