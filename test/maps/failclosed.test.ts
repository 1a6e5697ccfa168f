import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, startServer, type CliResult } from '../helpers/server.js';
import { loadConfig } from '../../src/config/load.js';
import { checkNamedFiles } from '../../src/maps/check.js';
import { RawSmtp } from '../smtp/client.js';

/**
 * Issue 9 item 10: map files fail closed. A configured map that is missing, unreadable or has
 * a bad line stops the start with FILE:LINE and exit status 1; while running, a bad edit or a
 * removed file keeps the last good version and the log says so.
 */

function config(dir: string, maps: string, submission = ''): string {
  const file = join(dir, 'correo.toml');
  const any = '["127.0.0.1:0"]';
  writeFileSync(file, `hostname = "mail.example.test"
data_dir = "${join(dir, 'data')}"
domains = ["example.test"]
[smtp]
listen = ${any}
[submission]
listen = ${any}
listen_tls = []
${submission}
[imap]
listen = ${any}
listen_tls = []
[pop3]
listen = ${any}
listen_tls = []
[dns]
servers = ["127.0.0.1:9"]
[maps]
${maps}
`);
  return file;
}

/** `correo serve`, which must exit by itself (today's main would keep serving: the timeout fails the test). */
function serve(configFile: string, uid?: number): Promise<CliResult> {
  return runCli(['serve', '--config', configFile], '', 20_000, uid === undefined ? undefined : { uid, gid: uid });
}

test('an access map with one bad line stops the start: FILE:LINE, exit 1; policy check says the same', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-failclosed-'));
  try {
    const access = join(dir, 'access');
    writeFileSync(access, '# the REJECT rules must not vanish\n192.0.2.66 REJECT\n192.0.2.67 REJECTT\n');
    const cfg = config(dir, `access = "${access}"`);
    const r = await serve(cfg);
    assert.equal(r.code, 1);
    assert.equal(r.stderr.trim(), `${access}:3: unknown value "REJECTT": use RELAY, OK, REJECT, DISCARD, SKIP, ERROR:5.7.1:text, FRIEND or HATER`);
    const check = await runCli(['policy', 'check', '--from', 'a@remote.test', '--to', 'usr@example.test', '--ip', '192.0.2.66', '--config', cfg]);
    assert.equal(check.code, 1);
    assert.equal(check.stderr.trim(), r.stderr.trim(), 'the CLI reports the same error');
    assert.doesNotMatch(check.stdout, /verdict: accepted/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a configured map that does not exist stops the start, naming the config line', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-failclosed-'));
  try {
    for (const [key, name] of [['access', 'access'], ['virtusertable', 'virtusertable'], ['relay_domains', 'relay-domains'], ['local_host_names', 'local-host-names'], ['aliases', 'aliases'], ['mailertable', 'mailertable']]) {
      const missing = join(dir, `no-${name}`);
      const cfg = config(dir, `${key} = "${missing}"`);
      const line = readFileSync(cfg, 'utf8').split('\n').indexOf(`${key} = "${missing}"`) + 1;
      const r = await serve(cfg);
      assert.equal(r.code, 1, key);
      assert.equal(r.stderr.trim(), `${cfg}:${line}: [maps] ${key} = "${missing}": no such file (remove the setting to run without it)`);
    }
    const senders = join(dir, 'no-senders');
    const cfg = config(dir, '', `senders_file = "${senders}"`);
    const r = await runCli(['policy', 'check', '--from', 'a@remote.test', '--to', 'usr@example.test', '--ip', '192.0.2.1', '--config', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /correo\.toml:\d+: \[submission\] senders_file = ".*no-senders": no such file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a map the server cannot read stops the start (run as nobody, the map 0600 root)', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to start the server as another user');
  const dir = mkdtempSync(join(tmpdir(), 'correo-failclosed-'));
  try {
    const nobody = 65534;
    chownSync(dir, nobody, nobody);
    const access = join(dir, 'access');
    writeFileSync(access, '192.0.2.66 REJECT\n', { mode: 0o600 });
    const cfg = config(dir, `access = "${access}"`);
    chmodSync(cfg, 0o644);
    const r = await serve(cfg, nobody);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^${cfg.replace(/[.]/g, '\\.')}:\\d+: \\[maps\\] access = "${access.replace(/[.]/g, '\\.')}": permission denied for uid ${nobody}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the check can be made for the user the server will become (root about to drop): mode bits of the file and its directories', () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-failclosed-'));
  try {
    chmodSync(dir, 0o755);
    const access = join(dir, 'access');
    writeFileSync(access, '192.0.2.66 REJECT\n', { mode: 0o600 });
    const cfg = loadConfig(config(dir, `access = "${access}"`));
    const nobody = { uid: 65534, gid: 65534 };
    assert.throws(() => checkNamedFiles(cfg, nobody), /\[maps\] access = ".*access": permission denied for uid 65534 \(the server must be able to read it\)/);
    chmodSync(access, 0o644);
    checkNamedFiles(cfg, nobody);
    chmodSync(dir, 0o700);
    assert.throws(() => checkNamedFiles(cfg, nobody), /permission denied for uid 65534/, 'a directory it cannot search');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('while running, a bad edit or a removed map keeps the last good version, and the log says so with FILE:LINE', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-failclosed-'));
  // Re-read after start, when the server runs as its own user (root drops privileges): like
  // /etc/mail, the directory must be open to it (mkdtemp makes it 0700).
  chmodSync(dir, 0o755);
  const access = join(dir, 'access');
  writeFileSync(access, 'From:spammer@bad.test REJECT\n');
  const server = await startServer({ toml: `[maps]\naccess = "${access}"\n[policy]\ndelay_checks = false\n` });
  const mailFrom = async () => {
    const c = await RawSmtp.connect(server.ports.smtp);
    try {
      await c.reply();
      await c.cmd('EHLO client.test');
      return (await c.cmd('MAIL FROM:<spammer@bad.test>')).code;
    } finally {
      c.destroy();
    }
  };
  try {
    assert.equal(await mailFrom(), 550);
    // A bad second line; the mtime moved so the watcher notices at once.
    writeFileSync(access, 'From:spammer@bad.test OK\nbogus WHAT\n');
    utimesSync(access, new Date(), new Date(Date.now() + 5000));
    // The file is looked at when a map is used (at most once a second): each try is a use.
    await waitFor(async () => (await mailFrom()) === 550 && /access: \S+access:2: unknown value "WHAT".*\(keeping the previous version\)/.test(server.readLog()));
    assert.equal(await mailFrom(), 550, 'the REJECT rule is still in force');
    rmSync(access);
    await waitFor(async () => (await mailFrom()) === 550 && /access: \S+access: no such file \(keeping the previous version\)/.test(server.readLog()));
    assert.equal(await mailFrom(), 550, 'still in force without the file');
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function waitFor(cond: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}
