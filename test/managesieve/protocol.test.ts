import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { SieveClient } from './client.js';

/**
 * ManageSieve (RFC 5804) as transcripts against a running server: capabilities before and
 * after STARTTLS, no plaintext SASL before TLS, every script command with its response codes
 * (quota, NONEXISTENT, ACTIVE, ALREADYEXISTS), syntax errors with line numbers, oversized
 * literals refused without being read, the bad-command cap.
 */
let server: TestServer;
const USER = 'usr1@example.test';
const PW = 'pw-sieve-1';

test.before(async () => {
  server = await startServer({ toml: '[sieve]\nmax_script_size = 4096\nmax_scripts = 3\n[managesieve]\nmax_errors = 6\n' });
  await server.addUser(USER, PW);
});
test.after(() => server?.stop());

const lit = (s: string) => `{${Buffer.byteLength(s)}+}\r\n${s}`;

test('capabilities, STARTTLS, no plaintext before TLS, SASL PLAIN after', { timeout: 60_000 }, async () => {
  const c = await SieveClient.connect(server.ports.managesieve);
  try {
    const greeting = await c.response();
    assert.match(greeting, /^"IMPLEMENTATION" "Correo"\r\n/);
    assert.match(greeting, /^"STARTTLS"\r$/m);
    assert.match(greeting, /^"SIEVE" ".*\bfileinto\b.*\bvacation\b.*"\r$/m);
    assert.doesNotMatch(greeting, /"SASL" ".*PLAIN/, 'no PLAIN before TLS');
    assert.match(greeting, /"VERSION" "1\.0"/);
    assert.match(greeting, /\r\nOK\r\n$/, 'a bare OK ends the capabilities (Cyrus clients want nothing after it)');
    assert.match(await c.login(USER, PW), /^NO \(ENCRYPT-NEEDED\)/);
    assert.match(await c.command('LISTSCRIPTS\r\n'), /^NO "Authenticate first"/);
    await c.starttls();
    const after = await c.response();
    assert.match(after, /"SASL" "[^"]*PLAIN/, 'RFC 5804 2.2: the capabilities again, now with PLAIN');
    assert.doesNotMatch(after, /"STARTTLS"/);
    assert.match(await c.login(USER, 'wrong'), /^NO "Authentication failed"/);
    assert.match(await c.login(USER, PW), /^OK/);
    assert.match(await c.command('CAPABILITY\r\n'), new RegExp(`"OWNER" "${USER}"`));
    assert.match(await c.command('AUTHENTICATE "PLAIN"\r\n'), /^NO "Already authenticated"/);
    assert.match(await c.command('LOGOUT\r\n'), /^OK/);
  } finally {
    c.close();
  }
});

test('script commands: PUTSCRIPT (checked, line numbers), LISTSCRIPTS, SETACTIVE, GETSCRIPT, RENAME, DELETE, quotas', { timeout: 60_000 }, async () => {
  const c = await SieveClient.connect(server.ports.managesieve);
  try {
    await c.response();
    await c.starttls();
    await c.response();
    assert.match(await c.login(USER, PW), /^OK/);
    const bad = 'require "fileinto";\r\nif header :contains "subject" "x" {\r\n  fileinto "a"\r\n}\r\n';
    const r = await c.command(`PUTSCRIPT "bad" ${lit(bad)}\r\n`);
    assert.match(r, /^NO .*line 4/s, r);
    assert.match(await c.command(`PUTSCRIPT "ext" ${lit('require "nosuchext";\r\nkeep;\r\n')}\r\n`), /^NO .*line 1.*nosuchext/s);
    const good = 'require ["fileinto", "vacation"];\r\nif header :contains "subject" "report" { fileinto "Reports"; }\r\n';
    assert.equal(await c.command(`CHECKSCRIPT ${lit(good)}\r\n`), 'OK\r\n');
    assert.equal(await c.command(`PUTSCRIPT "main" ${lit(good)}\r\n`), 'OK\r\n');
    assert.equal(await c.command('PUTSCRIPT "other" "keep;"\r\n'), 'OK\r\n');
    assert.equal(await c.command('LISTSCRIPTS\r\n'), '"main"\r\n"other"\r\nOK\r\n');
    assert.equal(await c.command('SETACTIVE "main"\r\n'), 'OK\r\n');
    assert.equal(await c.command('LISTSCRIPTS\r\n'), '"main" ACTIVE\r\n"other"\r\nOK\r\n');
    assert.equal(await c.command('GETSCRIPT "main"\r\n'), `{${Buffer.byteLength(good)}}\r\n${good}\r\nOK\r\n`);
    assert.match(await c.command('GETSCRIPT "nope"\r\n'), /^NO \(NONEXISTENT\)/);
    assert.match(await c.command('SETACTIVE "nope"\r\n'), /^NO \(NONEXISTENT\)/);
    assert.match(await c.command('DELETESCRIPT "main"\r\n'), /^NO \(ACTIVE\)/);
    assert.match(await c.command('RENAMESCRIPT "other" "main"\r\n'), /^NO \(ALREADYEXISTS\)/);
    assert.equal(await c.command('RENAMESCRIPT "main" "filters"\r\n'), 'OK\r\n');
    assert.equal(await c.command('LISTSCRIPTS\r\n'), '"filters" ACTIVE\r\n"other"\r\nOK\r\n');
    // Quotas (RFC 5804 2.3 HAVESPACE, 2.6 PUTSCRIPT).
    assert.equal(await c.command('HAVESPACE "x" 100\r\n'), 'OK\r\n');
    assert.match(await c.command('HAVESPACE "x" 5000\r\n'), /^NO \(QUOTA\/MAXSIZE\)/);
    assert.equal(await c.command('PUTSCRIPT "third" "keep;"\r\n'), 'OK\r\n');
    assert.match(await c.command('HAVESPACE "fourth" 10\r\n'), /^NO \(QUOTA\/MAXSCRIPTS\)/);
    assert.match(await c.command('PUTSCRIPT "fourth" "keep;"\r\n'), /^NO \(QUOTA\/MAXSCRIPTS\)/);
    // A literal over the size limit is skipped as it arrives, then refused; the session goes on.
    const big = '#'.repeat(300_000);
    assert.match(await c.command(`PUTSCRIPT "third" {${big.length}+}\r\n${big}\r\n`), /^NO \(QUOTA\/MAXSIZE\)/);
    assert.equal(await c.command('SETACTIVE ""\r\n'), 'OK\r\n', 'the empty name deactivates');
    assert.equal(await c.command('DELETESCRIPT "filters"\r\n'), 'OK\r\n');
    assert.equal(await c.command('NOOP "abc"\r\n'), 'OK (TAG "abc") "Done"\r\n');
    assert.equal(await c.command('UNAUTHENTICATE\r\n'), 'OK\r\n');
    assert.match(await c.command('LISTSCRIPTS\r\n'), /^NO "Authenticate first"/);
  } finally {
    c.close();
  }
  const cli = await server.cli(['sieve', 'list', USER]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.equal(cli.stdout, 'other\nthird\n');
});

test('bad input: unknown commands, bad strings and long lines get NO; past max_errors, BYE', { timeout: 60_000 }, async () => {
  const c = await SieveClient.connect(server.ports.managesieve);
  try {
    await c.response();
    assert.match(await c.command('FROB\r\n'), /^NO "Unknown command FROB"/);
    assert.match(await c.command('NOOP "unterminated\r\n'), /^NO "Syntax error/);
    assert.match(await c.command(`NOOP ${'x'.repeat(10_000)}\r\n`), /^NO "Command line too long"/);
    assert.match(await c.command('AUTHENTICATE "PLAIN" {100000+}\r\n' + 'A'.repeat(100_000) + '\r\n'), /^NO "A string of 100000 octets/);
    assert.match(await c.command('NOOP\r\n'), /^OK/, 'the session goes on');
    assert.match(await c.command('PUTSCRIPT "x" "y"\r\n'), /^NO "Authenticate first"/);
    assert.match(await c.command('FROB\r\n'), /^BYE "Too many errors"/);
  } finally {
    c.close();
  }
});
