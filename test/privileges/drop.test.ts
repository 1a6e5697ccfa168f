import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'smol-toml';
import { CLI, SERVER_USER, startServer, type TestServer } from '../helpers/server.js';
import { track } from '../helpers/children.js';
import { codes, message, talk } from '../policy/smtp.js';
import { waitForMessages } from '../policy/mailbox.js';
import { inbox, until } from '../submission/helpers.js';
import { RawSmtp } from '../smtp/client.js';
import { needs } from '../helpers/peers.js';

/**
 * Issue 9 item 5: started as root, the server binds its ports and runs as `[server] user`;
 * program deliveries still run as program_user through the privileged helper; a missing user
 * stops the start; ports can come from systemd socket activation.
 */

const user = (pid: number) => execFileSync('ps', ['-o', 'user=', '-p', String(pid)], { encoding: 'utf8' }).trim();
const children = (pid: number) => execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter(Boolean);

test('as root: runs as the server user, every protocol works, programs run as program_user', { timeout: 120000, ...needs('ps') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-drop-'));
  chmodSync(dir, 0o755);
  const smrsh = join(dir, 'smrsh');
  const out = join(dir, 'out');
  mkdirSync(smrsh);
  mkdirSync(out);
  chmodSync(out, 0o777);
  writeFileSync(join(smrsh, 'whoami'), `#!/bin/sh\nid -un > ${out}/who\ncat > ${out}/msg\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'aliases'), 'prog: |whoami\n');
  let server: TestServer | undefined;
  try {
    server = await startServer({ toml: `[maps]\naliases = "${join(dir, 'aliases')}"\n[delivery]\nprogram_dir = "${smrsh}"\n` });
    assert.equal(user(server.pid), SERVER_USER, 'ps shows the unprivileged user after start-up');
    const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
    assert.match(status, /^CapEff:\s+0+$/m, 'no capabilities left');
    // The one process that kept root is the delivery helper.
    assert.deepEqual(children(server.pid).map(user), ['root']);
    await server.addUser('usr@example.test', 'pw-drop-1');
    const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'RCPT TO:<prog@example.test>', 'DATA', message('a@remote.test', 'usr@example.test', 'after the drop')]);
    assert.match(codes(r)[6], /^250 /);
    const imap = await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-drop-1', 1);
    assert.ok(imap.some((m) => m.includes('Subject: after the drop')), 'IMAP reads it');
    const pop = await inbox(server.ports.pop3, 'usr@example.test', 'pw-drop-1');
    assert.ok(pop.some((m) => m.includes('Subject: after the drop')), 'POP3 reads it');
    const who = await until('the program ran', () => {
      try {
        return readFileSync(join(out, 'who'), 'utf8').trim();
      } catch {
        return undefined;
      }
    });
    assert.equal(who, 'nobody', 'program_user, not root and not the server user');
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a [server] user that does not exist stops the start with a clear error and exit 1', { timeout: 60000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-nouser-'));
  try {
    const cfg = join(dir, 'correo.toml');
    writeFileSync(cfg, stringify({ hostname: 'mail.example.test', data_dir: join(dir, 'data'), domains: ['example.test'], server: { user: 'no-such-correo-user' }, smtp: { listen: ['127.0.0.1:0'] }, submission: { listen: [], listen_tls: [] }, imap: { listen: [], listen_tls: [] }, pop3: { listen: [], listen_tls: [] } }));
    const child = track(spawn(process.execPath, [CLI, 'serve', '--config', cfg], { stdio: ['ignore', 'pipe', 'pipe'] }));
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    assert.equal(code, 1);
    assert.match(stderr, /\[server\] user "no-such-correo-user" does not exist: create it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('systemd socket activation: the inherited fd 3 serves its configured address', { timeout: 60000, ...needs('ps') }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-sockact-'));
  const listener = createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const port = (listener.address() as AddressInfo).port;
  const cfg = join(dir, 'correo.toml');
  writeFileSync(cfg, stringify({
    hostname: 'mail.example.test', data_dir: dir, domains: ['example.test'],
    smtp: { listen: [`127.0.0.1:${port}`] }, submission: { listen: [], listen_tls: [] }, imap: { listen: [], listen_tls: [] }, pop3: { listen: [], listen_tls: [] },
    log: { file: join(dir, 'mail.log') }, storage: { min_free_bytes: 0 },
  }));
  // LISTEN_PID must be the server's own pid: the shell sets it and becomes node with exec.
  // The listening socket's fd becomes the child's fd 3, as systemd passes it.
  const fd = (listener as unknown as { _handle: { fd: number } })._handle.fd;
  const child = track(spawn('/bin/sh', ['-c', `LISTEN_FDS=1 LISTEN_PID=$$ exec "${process.execPath}" "${CLI}" serve --config "${cfg}"`], {
    stdio: ['ignore', 'pipe', 'pipe', fd],
  }));
  listener.close(); // ours is closed; the server's copy keeps listening
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  try {
    await until('listening.json', () => {
      try {
        return JSON.parse(readFileSync(join(dir, 'listening.json'), 'utf8')) as { smtp: { port: number }[] };
      } catch {
        return undefined;
      }
    }, 30000);
    assert.match(readFileSync(join(dir, 'mail.log'), 'utf8'), new RegExp(`socket activation: 1 inherited socket\\(s\\): 127\\.0\\.0\\.1:${port}`));
    const c = await RawSmtp.connect(port, '127.0.0.1');
    assert.match((await c.reply()).lines[0], /^220 mail\.example\.test /);
    c.destroy();
    assert.equal(user(child.pid!), SERVER_USER);
    // Programs must not get the listening socket: the helper, which starts them, does not hold it.
    const listening = readlinkSync(`/proc/${child.pid}/fd/3`);
    const [helper] = children(child.pid!);
    const fds = readdirSync(`/proc/${helper}/fd`).map((n) => {
      try {
        return readlinkSync(`/proc/${helper}/fd/${n}`);
      } catch {
        return '';
      }
    });
    assert.ok(!fds.includes(listening), `the helper holds the inherited socket ${listening}: ${fds.join(' ')}\n${stderr}`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
});
