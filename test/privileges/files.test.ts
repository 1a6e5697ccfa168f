import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, SERVER_USER, startServer, type CliResult } from '../helpers/server.js';
import { track } from '../helpers/children.js';
import { codes, message, talk } from '../policy/smtp.js';
import { waitForMessages } from '../policy/mailbox.js';
import { userByName } from '../../src/privileges/passwd.js';

/**
 * Issue 9 item 4: what other local users can read. data_dir is the server user's, 0700
 * (0711 while the maildrop is inside it) with every file 0600, also after an upgrade from a
 * server that ran as root; a message dropped by the sendmail command is readable by its
 * sender and the server's group only; mailq shows an ordinary user only their own mail.
 */

const NOBODY = 65534;

/** The CLI as another user (uid and gid of the spawn), like a local user running it. */
function cliAs(uid: number, args: string[], stdin = ''): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = track(spawn(process.execPath, [CLI, ...args], { uid, gid: uid, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] }));
    let stdout = '', stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin!.end(stdin);
  });
}

function walk(dir: string, out: { path: string; mode: number; uid: number; dir: boolean }[] = []) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = lstatSync(path);
    out.push({ path, mode: st.mode & 0o7777, uid: st.uid, dir: st.isDirectory() });
    if (st.isDirectory() && name !== 'maildrop') walk(path, out);
  }
  return out;
}

test('data_dir: the server user\'s, 0711/0700 and 0600 after taking mail; root-owned 0644 files from before are fixed', { timeout: 120000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-perms-'));
  // What a server that ran as root left: world-readable files and directories.
  mkdirSync(join(dir, 'blobs', 'ab'), { recursive: true, mode: 0o755 });
  writeFileSync(join(dir, 'blobs', 'ab', 'old-blob'), 'old', { mode: 0o644 });
  writeFileSync(join(dir, 'old.log'), 'old', { mode: 0o644 });
  const server = await startServer({ dir });
  try {
    const correo = userByName(SERVER_USER)!;
    await server.addUser('usr@example.test', 'pw-perms-1');
    const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'DATA', message('a@remote.test', 'usr@example.test', 'perms')]);
    assert.match(codes(r)[5], /^250 /);
    await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-perms-1', 1);
    const top = lstatSync(dir);
    assert.equal(top.mode & 0o7777, 0o711, 'data_dir: others may reach the maildrop by name, not list');
    assert.equal(top.uid, correo.uid);
    const entries = walk(dir).filter((e) => e.path !== server.configFile);
    assert.ok(entries.some((e) => e.path.endsWith('correo.db')) && entries.some((e) => e.path.endsWith('-wal')));
    assert.ok(entries.filter((e) => e.path.includes('/blobs/')).length >= 3, 'the stored message is among them');
    for (const e of entries) {
      assert.equal(e.uid, correo.uid, `${e.path} belongs to ${SERVER_USER}`);
      if (e.path === join(dir, 'maildrop')) assert.equal(e.mode, 0o3733, 'maildrop: drop, no listing, setgid');
      else if (e.dir) assert.equal(e.mode, 0o700, `${e.path} is 0700`);
      else if (!e.path.endsWith('/showq')) assert.equal(e.mode & 0o077, 0, `${e.path} (${e.mode.toString(8)}) is not readable by group or others`);
    }
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('maildrop files are 0640 in the server\'s group; mailq as nobody shows only nobody\'s mail; only owners run the queue', { timeout: 120000 }, async () => {
  const server = await startServer({ toml: '[outbound]\nport = 9\nconnect_timeout = 2\n' });
  try {
    const correo = userByName(SERVER_USER)!;
    const cfg = ['-C', server.configFile];
    // With the server down the file waits in the maildrop, where it can be looked at.
    await server.kill9();
    const sent = await cliAs(NOBODY, ['sendmail', ...cfg, 'far@remote.test'], 'Subject: from nobody\n\nwaits\n');
    assert.equal(sent.code, 0, sent.stderr);
    const [name] = readdirSync(join(server.dir, 'maildrop')).filter((n) => n.endsWith('.msg'));
    const st = lstatSync(join(server.dir, 'maildrop', name));
    assert.equal(st.uid, NOBODY);
    assert.equal(st.gid, correo.gid, 'the setgid maildrop gave it the server\'s group');
    assert.equal(st.mode & 0o777, 0o640, 'nobody else may read it');
    await server.restart();
    const root = await cliAs(0, ['sendmail', ...cfg, 'other@remote.test'], 'Subject: from root\n\nwaits\n');
    assert.equal(root.code, 0, root.stderr);
    const all = await until(async () => {
      const q = await cliAs(0, ['mailq', ...cfg]);
      return /far@remote\.test/.test(q.stdout) && /other@remote\.test/.test(q.stdout) ? q.stdout : undefined;
    });
    assert.match(all, /2 Requests/);
    const own = await cliAs(NOBODY, ['mailq', ...cfg]);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /nobody@example\.test[^]*far@remote\.test/);
    assert.doesNotMatch(own.stdout, /other@remote\.test|root@example\.test/);
    assert.match(own.stdout, /1 Request\./);
    const run = await cliAs(NOBODY, ['sendmail', '-q', ...cfg]);
    assert.equal(run.code, 77);
    assert.match(run.stderr, /only root and the mail server's user may run the queue/);
    assert.match((await cliAs(correo.uid, ['mailq', ...cfg])).stdout, /2 Requests/, 'the server user sees the whole queue');
  } finally {
    await server.stop();
  }
});

async function until<T>(fn: () => Promise<T | undefined>, ms = 30000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - start > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 200));
  }
}
