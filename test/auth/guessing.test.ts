/**
 * Password guessing through real sessions (IMAP LOGIN, POP3 USER/PASS, SMTP AUTH PLAIN on
 * submission), one server, each scenario from loopback addresses of its own. Security
 * regressions of issue 9: item 7 (a success must not buy more guesses at other accounts) and
 * item 9 (an account guessed at from many addresses must not lock its owner out).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { Imap } from '../imap/client.js';
import { RawClient } from '../pop3/helpers.js';
import { RawSmtp } from '../smtp/client.js';

let server: TestServer;

before(async () => {
  // Loopback only: plaintext logins without TLS keep the transcripts short.
  server = await startServer({ toml: '[auth]\nplaintext_without_tls = true\n' });
  await server.addUser('alice@example.test', 'alice-pw');
  await server.addUser('victim@example.test', 'victim-pw');
  await server.addUser('owner@example.test', 'owner-pw');
});

after(async () => {
  await server?.stop();
});

const FAILED = /^A\d+ NO \[AUTHENTICATIONFAILED\]/;
const THROTTLED = /^A\d+ NO \[UNAVAILABLE\]/;

async function imap(from: string): Promise<Imap> {
  return Imap.open(server.ports.imap, { localAddress: from });
}

async function pop3(from: string): Promise<RawClient> {
  const c = await RawClient.connect(server.ports.pop3, { localAddress: from });
  assert.match(await c.line(), /^\+OK/);
  return c;
}

async function pop3Login(c: RawClient, user: string, pass: string): Promise<string> {
  assert.equal(await c.cmd(`USER ${user}`), '+OK Send your password');
  return c.cmd(`PASS ${pass}`);
}

async function smtp(from: string): Promise<RawSmtp> {
  const c = await RawSmtp.connect(server.ports.submission, '127.0.0.1', from);
  await c.reply();
  await c.cmd('EHLO client.example.test');
  return c;
}

const plain = (user: string, pass: string) => `AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`;

test('issue 9.7: logging in to one\'s own account does not reset the failures at another: the address is throttled on every service', { timeout: 240_000 }, async () => {
  const from = '127.0.3.1';
  const c1 = await imap(from);
  try {
    for (let i = 0; i < 4; i++) assert.match((await c1.cmd(`LOGIN victim@example.test guess${i}`)).tagged, FAILED);
    assert.match((await c1.cmd('LOGIN alice@example.test alice-pw')).tagged, /^A\d+ OK/, 'the attacker\'s own account works');
  } finally {
    c1.close();
  }
  const c2 = await imap(from);
  try {
    // Before the fix the success above wiped the 4 failures: this address could guess for ever.
    assert.match((await c2.cmd('LOGIN victim@example.test guess4')).tagged, FAILED, 'the 5th failure within the window is still checked');
    assert.match((await c2.cmd('LOGIN victim@example.test guess5')).tagged, THROTTLED);
    assert.match((await c2.cmd('LOGIN alice@example.test alice-pw')).tagged, THROTTLED, 'the address as a whole waits, whatever account it names');
  } finally {
    c2.close();
  }
  const p = await pop3(from);
  try {
    assert.equal(await pop3Login(p, 'victim@example.test', 'guess6'), '-ERR [SYS/TEMP] Too many failures; try later');
  } finally {
    p.destroy();
  }
  const s = await smtp(from);
  try {
    assert.equal((await s.cmd(plain('victim@example.test', 'guess7'))).raw, '454 4.7.0 Temporary authentication failure; too many failures, try again later\r\n');
  } finally {
    s.destroy();
  }
  assert.match(server.readLog(), /auth throttled: service=imap, user=victim@example\.test, client=127\.0\.3\.1/);
});

test('issue 9.7: a success clears its own pair: a user who mistypes and then logs in, again and again, is not throttled', { timeout: 240_000 }, async () => {
  for (let round = 0; round < 2; round++) {
    const p = await pop3('127.0.3.2');
    try {
      for (let i = 0; i < 4; i++) assert.equal(await pop3Login(p, 'alice@example.test', `typo${i}`), '-ERR [AUTH] Authentication failed');
      // In round 2 the address has 8 failures in the window, over the limit of 5 were the first 4 not forgiven.
      assert.match(await pop3Login(p, 'alice@example.test', 'alice-pw'), /^\+OK Maildrop has/);
      assert.match(await p.cmd('QUIT'), /^\+OK/);
    } finally {
      p.destroy();
    }
  }
});

test('issue 9.9: 20 failures from 4 addresses do not lock the owner out: the right password from another address works on every service; the guessing addresses are refused', { timeout: 240_000 }, async () => {
  const account = 'owner@example.test';
  // Five failures each from four addresses, over three services (each address reaches its own limit).
  const p = await pop3('127.0.4.1');
  for (let i = 0; i < 5; i++) assert.equal(await pop3Login(p, account, `p${i}`), '-ERR [AUTH] Authentication failed');
  p.destroy();
  for (const from of ['127.0.4.2', '127.0.4.4']) {
    const c = await imap(from);
    for (let i = 0; i < 5; i++) assert.match((await c.cmd(`LOGIN ${account} i${i}`)).tagged, FAILED);
    c.close();
  }
  const s = await smtp('127.0.4.3');
  for (let i = 0; i < 5; i++) assert.match((await s.cmd(plain(account, `s${i}`))).raw, /^535 5\.7\.8 /);
  s.destroy();

  // The owner, from an address that has not been failing: slowed (the account is under attack), never refused.
  const owner = '127.0.4.5';
  const c = await imap(owner);
  try {
    assert.match((await c.cmd(`LOGIN ${account} owner-pw`)).tagged, /^A\d+ OK/);
  } finally {
    c.close();
  }
  const op = await pop3(owner);
  try {
    assert.match(await pop3Login(op, account, 'owner-pw'), /^\+OK Maildrop has/);
    assert.match(await op.cmd('QUIT'), /^\+OK/);
  } finally {
    op.destroy();
  }
  const os = await smtp(owner);
  try {
    assert.match((await os.cmd(plain(account, 'owner-pw'))).raw, /^235 /);
  } finally {
    os.destroy();
  }

  // A guessing address is refused, even with the right password; a new one gets one try at this account, not five.
  const g1 = await imap('127.0.4.1');
  const g6 = await imap('127.0.4.6');
  try {
    assert.match((await g1.cmd(`LOGIN ${account} owner-pw`)).tagged, THROTTLED);
    assert.match((await g6.cmd(`LOGIN ${account} g0`)).tagged, FAILED);
    assert.match((await g6.cmd(`LOGIN ${account} g1`)).tagged, THROTTLED, 'an address that failed at an account under attack waits for its failure to age');
    assert.match((await g6.cmd('LOGIN alice@example.test alice-pw')).tagged, /^A\d+ OK/, 'the same address may still log in elsewhere (it is under its own limit)');
  } finally {
    g1.close();
    g6.close();
  }
  const log = server.readLog();
  assert.match(log, /auth ok: service=imap, user=owner@example\.test, client=127\.0\.4\.5/);
  assert.match(log, /auth ok: service=pop3, user=owner@example\.test, client=127\.0\.4\.5/);
  assert.match(log, /auth ok: service=submission, mechanism=PLAIN, user=owner@example\.test, client=127\.0\.4\.5/);
  assert.match(log, /auth throttled: service=imap, user=owner@example\.test, client=127\.0\.4\.6/);
});
