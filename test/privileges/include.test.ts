import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { codes, message, talk } from '../policy/smtp.js';
import { folderMessages, waitForBounce } from '../policy/mailbox.js';

/**
 * Issue 9 item 2: an :include: file's files and programs run as its owner, never as root,
 * and not at all when others could have written it; /file targets of the aliases file only
 * inside [delivery] file_dirs. Bounces say what failed, not where (item 12).
 *
 * Not under /tmp: a world-writable directory above an include file makes it unsafe.
 */

const NOBODY = 65534;
const PW = 'pw-include-1';
let base: string;
let server: TestServer;

const p = (...parts: string[]) => join(base, ...parts);

function owned(path: string, text: string, uid: number, mode = 0o644): void {
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
  chownSync(path, uid, uid);
}

test.before(async () => {
  base = mkdtempSync('/run/correo-include-');
  chmodSync(base, 0o755);
  mkdirSync(p('secret'), { mode: 0o700 }); // root's, nobody else may write in it
  mkdirSync(p('lists'), { mode: 0o755 });
  mkdirSync(p('home'), { mode: 0o755 });
  chownSync(p('home'), NOBODY, NOBODY);
  mkdirSync(p('open'), { mode: 0o777 });
  chmodSync(p('open'), 0o777);
  mkdirSync(p('allowed'), { mode: 0o755 });
  chmodSync(p('allowed'), 0o777);
  // The attack: a list nobody owns, naming a file in root's private directory.
  owned(p('lists', 'attack.list'), `${p('secret', 'owned')}\n`, NOBODY);
  // A user's own list, writing into their own directory.
  owned(p('home', 'own.list'), `${p('home', 'inbox.mbox')}\n`, NOBODY);
  // The same list in a directory anyone may write to: someone could have swapped it.
  owned(p('open', 'swappable.list'), `${p('home', 'via-open.mbox')}\nusr\n`, NOBODY);
  writeFileSync(p('aliases'), [
    `attack: :include:${p('lists', 'attack.list')}`,
    `ownlist: :include:${p('home', 'own.list')}`,
    `openlist: :include:${p('open', 'swappable.list')}`,
    `outside: usr, ${p('outside.mbox')}`,
    `outsideonly: ${p('outside.mbox')}`,
    `inside: ${p('allowed', 'archive.mbox')}`,
  ].join('\n') + '\n');
  server = await startServer({ toml: `[maps]\naliases = "${p('aliases')}"\n[delivery]\nfile_dirs = ["${p('allowed')}"]\n` });
  await server.addUser('admin@example.test', PW);
  await server.addUser('usr@example.test', PW);
});

test.after(async () => {
  await server?.stop();
  rmSync(base, { recursive: true, force: true });
});

async function send(to: string, subject: string): Promise<void> {
  const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<admin@example.test>', `RCPT TO:<${to}>`, 'DATA', message('admin@example.test', to, subject)]);
  assert.match(codes(r)[5], /^250 /, `${to}: ${codes(r).join(' | ')}`);
}

const bounceFor = (subject: string) => waitForBounce(server.ports.imaps, 'admin@example.test', PW, subject, 30000);

async function waitFile(path: string, re: RegExp): Promise<string> {
  const start = Date.now();
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (re.test(text)) return text;
    if (Date.now() - start > 30000) throw new Error(`${path} never matched ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('an include file owned by nobody cannot make the server write into a root-only directory', { timeout: 90000 }, async () => {
  await send('attack@example.test', 'include-attack');
  const dsn = await bounceFor('include-attack');
  assert.match(dsn, /Status: 5\.7\.1/);
  assert.match(dsn, /cannot write the mailbox file/);
  assert.ok(!dsn.includes(base), 'the bounce names no path');
  assert.ok(!existsSync(p('secret', 'owned')), 'nothing was written');
  assert.match(server.readLog(), /secret\/owned: EACCES/);
});

test('an include file owned by a user writes as that user', { timeout: 90000 }, async () => {
  await send('ownlist@example.test', 'include-own');
  const mbox = await waitFile(p('home', 'inbox.mbox'), /Subject: include-own/);
  assert.match(mbox, /^From admin@example\.test /);
  assert.equal(lstatSync(p('home', 'inbox.mbox')).uid, NOBODY, 'created by the list\'s owner');
});

test('an include file in a directory others may write to: its files are refused, its addresses kept', { timeout: 90000 }, async () => {
  await send('openlist@example.test', 'include-open');
  const dsn = await bounceFor('include-open');
  assert.match(dsn, /delivery refused by the local configuration/);
  assert.ok(!dsn.includes(base), 'the bounce names no path');
  assert.ok(!existsSync(p('home', 'via-open.mbox')));
  assert.match(server.readLog(), /swappable\.list is in \S+open, which group or others may write to: its files and programs are refused/);
  const got = await folderMessages(server.ports.imaps, 'usr@example.test', PW);
  assert.ok(got.some((m) => m.includes('Subject: include-open')), 'the address in it still got the message');
});

test('aliases /file targets: only inside file_dirs, and never as root', { timeout: 90000 }, async () => {
  const only = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<outsideonly@example.test>']);
  assert.equal(codes(only)[3], '550 5.7.1 <outsideonly@example.test>: Delivery refused by the local configuration');
  await send('outside@example.test', 'file-outside');
  const dsn = await bounceFor('file-outside');
  assert.match(dsn, /Status: 5\.7\.1/);
  assert.match(dsn, /delivery refused by the local configuration/);
  assert.ok(!dsn.includes(base), 'the bounce names no path');
  assert.ok(!existsSync(p('outside.mbox')));
  await send('inside@example.test', 'file-inside');
  await waitFile(p('allowed', 'archive.mbox'), /Subject: file-inside/);
  assert.equal(lstatSync(p('allowed', 'archive.mbox')).uid, NOBODY, 'a new file is program_user\'s, not root\'s');
});
