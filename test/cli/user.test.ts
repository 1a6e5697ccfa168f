import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runCli } from '../helpers/server.js';

function setup(): { dir: string; cfg: string; cli: (args: string[], stdin?: string) => ReturnType<typeof runCli> } {
  const dir = mkdtempSync(join(tmpdir(), 'correo-cli-'));
  // The commands run as the server's user (correo), which must reach data_dir inside it.
  chmodSync(dir, 0o711);
  const cfg = join(dir, 'correo.toml');
  writeFileSync(cfg, `hostname = "mail.example.test"\ndata_dir = "${dir}/data"\ndomains = ["example.test"]\n`);
  return { dir, cfg, cli: (args, stdin) => runCli([...args, '--config', cfg], stdin) };
}

test('user add/list/passwd/test/del work like saslpasswd2, sasldblistusers2 and testsaslauthd (S33)', { timeout: 60_000 }, async () => {
  const { dir, cli } = setup();
  try {
    let r = await cli(['user', 'add', 'usr1@example.test', '--password-stdin'], 'secreto1\n');
    assert.equal(r.code, 0, r.stderr);
    r = await cli(['user', 'add', 'usr2', '--password-stdin'], 'otra\n');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /created usr2@example\.test/, 'a bare name is qualified with the only domain');

    r = await cli(['user', 'list']);
    assert.deepEqual(r.stdout.trim().split('\n'), ['usr1@example.test', 'usr2@example.test']);

    r = await cli(['user', 'test', 'usr1@example.test', '--service', 'pop3'], 'secreto1\n');
    assert.equal(r.stdout.trim(), '0: OK "Success."');
    assert.equal(r.code, 0);
    r = await cli(['user', 'test', 'usr1@example.test', '--service', 'pop3'], 'wrong\n');
    assert.equal(r.stdout.trim(), '0: NO "authentication failed"');
    assert.equal(r.code, 1);

    r = await cli(['user', 'passwd', 'usr1@example.test', '--password-stdin'], 'nuevo\n');
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await cli(['user', 'test', 'usr1@example.test'], 'secreto1\n')).code, 1, 'the old password stops working');
    assert.equal((await cli(['user', 'test', 'usr1@example.test'], 'nuevo\n')).code, 0);

    // Passwords are stored hashed, never in clear.
    const db = new Database(join(dir, 'data', 'correo.db'), { readonly: true });
    const rows = db.prepare('SELECT password_hash FROM users').all() as { password_hash: string }[];
    db.close();
    for (const { password_hash } of rows) {
      assert.match(password_hash, /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$/);
      assert.ok(!password_hash.includes('nuevo') && !password_hash.includes('otra'));
    }
    assert.ok(!readFileSync(join(dir, 'data', 'correo.db')).includes('nuevo'));

    r = await cli(['user', 'del', 'usr2@example.test']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual((await cli(['user', 'list'])).stdout.trim().split('\n'), ['usr1@example.test']);
    assert.equal((await cli(['user', 'test', 'usr2@example.test'], 'otra\n')).code, 1, 'a deleted user cannot log in');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad input to user commands: clear messages, non-zero exit, nothing changed', { timeout: 60_000 }, async () => {
  const { dir, cli } = setup();
  try {
    assert.equal((await cli(['user', 'add', 'usr1@example.test', '--password-stdin'], 'pw\n')).code, 0);
    let r = await cli(['user', 'add', 'usr1@example.test', '--password-stdin'], 'pw\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
    r = await cli(['user', 'add', 'x@other.test', '--password-stdin'], 'pw\n');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /other\.test is not one of this server's domains/);
    r = await cli(['user', 'add', 'bad address@example.test', '--password-stdin'], 'pw\n');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /not a mail address/);
    r = await cli(['user', 'add', 'usr9@example.test', '--password-stdin'], '');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /empty password/);
    r = await cli(['user', 'add', 'usr9@example.test']);
    assert.equal(r.code, 1, 'without a terminal and without --password-stdin it refuses');
    assert.match(r.stderr, /--password-stdin/);
    r = await cli(['user', 'del', 'nobody@example.test']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no user nobody@example\.test/);
    r = await cli(['user', 'frobnicate']);
    assert.equal(r.code, 2);
    r = await cli(['user', 'list', '--bogus']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown option --bogus/);
    assert.deepEqual((await cli(['user', 'list'])).stdout.trim().split('\n'), ['usr1@example.test']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken config stops every command with FILE:LINE and a non-zero exit', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-cli-'));
  // The commands run as the server's user (correo), which must reach data_dir inside it.
  chmodSync(dir, 0o711);
  try {
    const cfg = join(dir, 'correo.toml');
    writeFileSync(cfg, 'hostname = "mail.example.test"\n[smtp]\nlisten = ["nowhere"]\n');
    for (const args of [['serve'], ['user', 'list']]) {
      const r = await runCli([...args, '--config', cfg]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim(), `${cfg}:3: smtp.listen: "nowhere" is not HOST:PORT (IPv6 as [::1]:PORT)`);
    }
    const r = await runCli(['user', 'list', '--config', join(dir, 'missing.toml')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read configuration .*missing\.toml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('correo init writes a commented starter file that loads, and never overwrites one', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-cli-'));
  // The commands run as the server's user (correo), which must reach data_dir inside it.
  chmodSync(dir, 0o711);
  try {
    const cfg = join(dir, 'correo.toml');
    let r = await runCli(['init', '--config', cfg, '--hostname', 'mail.example.org', '--domain', 'example.org']);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(cfg, 'utf8');
    assert.match(text, /^hostname = "mail\.example\.org"/m);
    assert.match(text, /# .*S13/);
    r = await runCli(['user', 'add', 'usr1@example.org', '--password-stdin', '--config', cfg], 'x\n');
    assert.equal(r.code, 0, r.stderr);
    r = await runCli(['init', '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists; not overwriting/);
    assert.equal(readFileSync(cfg, 'utf8'), text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('correo aliases checks the file like newaliases and reports FILE:LINE on mistakes', { timeout: 30_000 }, async () => {
  const { dir, cfg, cli } = setup();
  try {
    const aliases = join(dir, 'aliases');
    writeFileSync(cfg, readFileSync(cfg, 'utf8') + `[maps]\naliases = "${aliases}"\n`);
    writeFileSync(aliases, '# comment\nwebmaster: usr1\nventas: usr1, usr2@remote.test\n');
    let r = await cli(['aliases']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: 4 aliases/, 'two from the file plus postmaster and MAILER-DAEMON');
    writeFileSync(aliases, 'webmaster: usr1\nbroken line\n');
    r = await cli(['aliases']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `${aliases}:2: expected "name: target, ..." but found "broken line"`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
