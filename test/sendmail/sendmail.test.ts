import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, linkSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, type TestServer } from '../helpers/server.js';
import { startDns, type TestDns } from '../helpers/dns.js';
import { inbox, until } from '../submission/helpers.js';
import { MAGIC } from '../../src/smtp/maildrop.js';
import { missingPeers } from '../helpers/peers.js';

/** Every test here needs these peers (the hooks start them): skipped with the install line without them. */
const skip = missingPeers('dnsmasq');

/**
 * The local sendmail command (S31) from a shell, the way cron, PHP's mail() and scripts run
 * it: `sendmail` and `mailq` are the package's bin names, here symlinks in a PATH directory.
 * Messages go through the maildrop to the running server; users other than root are played
 * by "nobody" (setpriv) for S24's trusted-user rules.
 */

const CLI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli');
let bin: string;
let server: TestServer;
let dns: TestDns;

function sh(script: string, opts: { user?: 'nobody'; env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { PATH: `${bin}:/usr/local/bin:/usr/bin:/bin`, CORREO_CONFIG: server.configFile, ...(opts.env ?? {}) };
  const [cmd, args] = opts.user === 'nobody'
    ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '/bin/sh', '-c', script]]
    : ['/bin/sh', ['-c', script]];
  return new Promise((resolvePromise) => {
    execFile(cmd as string, args as string[], { env, cwd: opts.cwd ?? '/', timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolvePromise({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

async function delivered(user: string, pw: string, marker: string): Promise<string> {
  const [m] = await until(`"${marker}" in ${user}'s INBOX`, async () => {
    const found = (await inbox(server.ports.pop3, user, pw)).filter((x) => x.includes(marker));
    return found.length ? found : false;
  });
  return m;
}

test.before(async () => {
  if (skip) return;
  bin = mkdtempSync(join(tmpdir(), 'correo-bin-'));
  chmodSync(bin, 0o755);
  symlinkSync(join(CLI_DIR, 'sendmail-bin.js'), join(bin, 'sendmail'));
  symlinkSync(join(CLI_DIR, 'mailq-bin.js'), join(bin, 'mailq'));
  // A deferred destination for the queue listing: its MX refuses connections.
  dns = await startDns(['--local=/test/', '--mx-host=later.test,mx.later.test,10', '--host-record=mx.later.test,127.0.0.3']);
  server = await startServer({ dns, toml: '[outbound]\nport = 9\nconnect_timeout = 2\n' });
  // The users the tests play ("nobody") must reach the config and the maildrop.
  chmodSync(server.dir, 0o711);
  await server.addUser('usr@example.test', 'usr-pw');
  await server.addUser('admin@example.test', 'admin-pw');
});

test.after(async () => {
  await server?.stop();
  await dns?.stop();
  if (bin) rmSync(bin, { recursive: true, force: true });
});

test('sendmail -t from a shell pipeline: header recipients, Bcc removed, From: from -F, Date and Message-ID added; a lone dot ends the input', { timeout: 60_000, skip }, async () => {
  const r = await sh(`printf 'To: usr\\nBcc: admin@example.test\\nSubject: from the shell\\n\\nfirst line\\n.\\nnot read\\n' | sendmail -t -F "Shell Script"`);
  assert.equal(r.code, 0, r.stderr);
  for (const [user, pw] of [['usr@example.test', 'usr-pw'], ['admin@example.test', 'admin-pw']]) {
    const m = await delivered(user, pw, 'Subject: from the shell');
    assert.match(m, /^Return-Path: <root@example\.test>\r\nReceived: \(from root@localhost uid 0\)\r\n\tby mail\.example\.test \(Correo sendmail\) id \w+;/);
    assert.match(m, /\r\nTo: usr@example\.test\r\nSubject: from the shell\r\nFrom: Shell Script <root@example\.test>\r\nDate: .+\r\nMessage-ID: <\w+\.[0-9a-f]+@mail\.example\.test>\r\n\r\nfirst line$/);
    assert.doesNotMatch(m, /Bcc:|not read|X-Authentication-Warning/);
  }
});

test('cron-like use: empty environment, no config in the working directory, -oi keeps a lone dot, recipients on the command line, exit 0', { timeout: 60_000, skip }, async () => {
  const r = await sh(`cd / && env -i PATH="$PATH" CORREO_CONFIG="$CORREO_CONFIG" /bin/sh -c 'printf "Subject: cron job output\\n\\nbefore\\n.\\nafter\\n" | sendmail -oi -oem usr@example.test'`);
  assert.equal(r.code, 0, r.stderr);
  const m = await delivered('usr@example.test', 'usr-pw', 'Subject: cron job output');
  assert.match(m, /\r\n\r\nbefore\r\n\.\r\nafter$/);
  const none = await sh(`printf 'Subject: nobody to send to\\n\\nx\\n' | sendmail -t`);
  assert.equal(none.code, 64);
  assert.match(none.stderr, /No recipient addresses found in header/);
});

test('sendmail -bs: an SMTP session on standard input and output', { timeout: 60_000, skip }, async () => {
  const session = 'EHLO script.local\\r\\nMAIL FROM:<root@example.test>\\r\\nRCPT TO:<usr@example.test>\\r\\nDATA\\r\\nSubject: over -bs\\r\\n\\r\\n..dot stuffed\\r\\n.\\r\\nQUIT\\r\\n';
  const r = await sh(`printf '${session}' | sendmail -bs`);
  assert.equal(r.code, 0, r.stderr);
  const replies = r.stdout.split('\r\n').filter(Boolean).map((l) => l.slice(0, 4));
  assert.deepEqual(replies, ['220 ', '250-', '250-', '250-', '250-', '250-', '250 ', '250 ', '250 ', '354 ', '250 ', '221 ']);
  assert.match(r.stdout, /250 2\.0\.0 Ok: queued as \w+\r\n221 2\.0\.0 Bye\r\n$/);
  const m = await delivered('usr@example.test', 'usr-pw', 'Subject: over -bs');
  assert.match(m, /\r\n\r\n\.dot stuffed$/);
});

test('sendmail -bp and mailq list the queue like mailq', { timeout: 60_000, skip }, async () => {
  const r = await sh(`printf 'Subject: waits in the queue\\n\\nx\\n' | sendmail someone@later.test`);
  assert.equal(r.code, 0, r.stderr);
  await until('the message deferred', () => /to=<someone@later\.test>.*status=deferred/.test(server.readLog()));
  for (const cmd of ['sendmail -bp', 'mailq']) {
    const q = await sh(cmd);
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, /^-Queue ID- +--Size-- ----Arrival Time---- -Sender\/Recipient-------\n\w+ +\d+ \w{3} \w{3} +\d+ \d\d:\d\d:\d\d  root@example\.test\n.*\n +someone@later\.test\n/, cmd);
    assert.match(q.stdout, /-- \d+ Kbytes in 1 Request\.\n$/);
  }
});

test('S24: an untrusted user\'s -f for an address not theirs goes with X-Authentication-Warning; their own address and root\'s -f go without', { timeout: 60_000, skip }, async () => {
  const r = await sh(`printf 'Subject: nobody as boss\\n\\nx\\n' | sendmail -f boss@example.test usr@example.test`, { user: 'nobody' });
  assert.equal(r.code, 0, r.stderr);
  const m = await delivered('usr@example.test', 'usr-pw', 'Subject: nobody as boss');
  assert.match(m, /^Return-Path: <boss@example\.test>\r\nReceived: \(from nobody@localhost uid 65534\)\r\n[^]*?\r\nX-Authentication-Warning: mail\.example\.test: nobody set sender to boss@example\.test using -f\r\n/);
  assert.match(m, /\r\nFrom: <boss@example\.test>\r\n/);
  const own = await sh(`printf 'Subject: nobody as nobody\\n\\nx\\n' | sendmail -f nobody@example.test usr@example.test`, { user: 'nobody' });
  assert.equal(own.code, 0, own.stderr);
  assert.doesNotMatch(await delivered('usr@example.test', 'usr-pw', 'Subject: nobody as nobody'), /X-Authentication-Warning/);
  const root = await sh(`printf 'Subject: root as boss\\n\\nx\\n' | sendmail -f boss@example.test usr@example.test`);
  assert.equal(root.code, 0);
  const rm = await delivered('usr@example.test', 'usr-pw', 'Subject: root as boss');
  assert.match(rm, /^Return-Path: <boss@example\.test>\r\n/);
  assert.doesNotMatch(rm, /X-Authentication-Warning/, 'root is trusted');
  assert.match(server.readLog(), /pickup: uid=65534 from=<nobody>, sender set to <boss@example\.test> by an untrusted user/);
});

test('durability: with the server down, sendmail still answers 0 once the file is on disk, and the message goes when the server starts', { timeout: 90_000, skip }, async () => {
  await server.kill9();
  const r = await sh(`printf 'Subject: written while down\\n\\nx\\n' | sendmail usr@example.test`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readdirSync(join(server.dir, 'maildrop')).filter((n) => n.endsWith('.msg')).length, 1, 'the message waits in the maildrop');
  await server.restart();
  await delivered('usr@example.test', 'usr-pw', 'Subject: written while down');
  // Nothing left but the showq socket that answers mailq (src/smtp/showq.ts).
  await until('maildrop emptied', () => readdirSync(join(server.dir, 'maildrop')).filter((n) => n !== 'showq').length === 0);
});

test('untrusted_sender = "refuse": the message is not sent and the user is told; a hard link to another user\'s file is not taken as theirs', { timeout: 90_000, skip }, async () => {
  const dns2 = await startDns(['--local=/test/']);
  const strict = await startServer({ dns: dns2, toml: '[sendmail]\nuntrusted_sender = "refuse"\n' });
  try {
    chmodSync(strict.dir, 0o711);
    await strict.addUser('usr@example.test', 'usr-pw');
    await strict.addUser('nobody@example.test', 'nobody-pw');
    const env = { CORREO_CONFIG: strict.configFile };
    const r = await sh(`printf 'Subject: refused forgery\\n\\nx\\n' | sendmail -f boss@example.test usr@example.test`, { user: 'nobody', env });
    assert.equal(r.code, 0, r.stderr);
    const ok = await sh(`printf 'Subject: allowed own address\\n\\nx\\n' | sendmail usr@example.test`, { user: 'nobody', env });
    assert.equal(ok.code, 0);
    const [note] = await until('the notice to nobody', async () => {
      const found = (await inbox(strict.ports.pop3, 'nobody@example.test', 'nobody-pw')).filter((x) => x.includes('Your message was not sent'));
      return found.length ? found : false;
    });
    assert.match(note, /may not send mail as <boss@example\.test>/);
    const usrMail = await until('usr\'s mail', async () => {
      const all = await inbox(strict.ports.pop3, 'usr@example.test', 'usr-pw');
      return all.length ? all : false;
    });
    assert.equal(usrMail.length, 1);
    assert.match(usrMail[0], /Subject: allowed own address/);
    assert.match(usrMail[0], /^Return-Path: <nobody@example\.test>\r\n/);
    // A second name for a file (a hard link) could lend its owner's uid to someone else's message.
    const outside = join(strict.dir, 'elsewhere.msg');
    writeFileSync(outside, `${MAGIC}\n${JSON.stringify({ sender: 'boss@example.test', recipients: ['usr@example.test'], fullName: null })}\nSubject: via a hard link\r\n\r\nx\r\n`);
    linkSync(outside, join(strict.dir, 'maildrop', '0000hardlinked0000.msg'));
    await until('the linked file refused', () => /pickup: 0000hardlinked0000\.msg: not a regular file with one link \(uid 0\); removed/.test(strict.readLog()));
    assert.ok(!(await inbox(strict.ports.pop3, 'usr@example.test', 'usr-pw')).some((m) => m.includes('via a hard link')));
  } finally {
    await strict.stop();
    await dns2.stop();
  }
});
