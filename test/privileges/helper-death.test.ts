import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { codes, message, talk } from '../policy/smtp.js';
import { waitForMessages } from '../policy/mailbox.js';
import { until } from '../submission/helpers.js';
import { isRoot } from '../../src/privileges/passwd.js';
import { missingPeers } from '../helpers/peers.js';

/**
 * The privileged delivery helper (the one process that keeps root) dies: program and file
 * deliveries are deferred with 4.3.0 and kept in the queue, the log says why and what to do,
 * mailbox deliveries go on, and after a restart the deferred delivery is made once.
 */

const children = (pid: number) => execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }).split('\n').map((s) => Number(s.trim())).filter(Boolean);

test('delivery helper killed: program delivery deferred (4.3.0, still queued), mailboxes still served, delivered once after a restart', { timeout: 120000, skip: isRoot() ? missingPeers('ps') : 'needs root: the helper exists only when the server starts as root' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-helper-death-'));
  chmodSync(dir, 0o755);
  const smrsh = join(dir, 'smrsh');
  const out = join(dir, 'out');
  mkdirSync(smrsh);
  mkdirSync(out);
  chmodSync(out, 0o777);
  // Each run appends the message, so a second delivery would show as a second Subject line.
  writeFileSync(join(smrsh, 'record'), `#!/bin/sh\ncat >> ${out}/msgs\n`, { mode: 0o755 });
  writeFileSync(join(dir, 'aliases'), 'prog: |record\n');
  let server: TestServer | undefined;
  try {
    server = await startServer({ toml: `[maps]\naliases = "${join(dir, 'aliases')}"\n[delivery]\nprogram_dir = "${smrsh}"\n` });
    await server.addUser('usr@example.test', 'pw-helper-1');
    const [helper] = children(server.pid);
    assert.ok(helper, 'the server has its helper child');
    process.kill(helper, 'SIGKILL');
    const s = server;
    await until('the helper death logged', () => (/the delivery helper exited \(SIGKILL\): program and file deliveries are deferred until the server is restarted/.test(s.readLog()) ? true : undefined));

    const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO c.test', 'MAIL FROM:<a@remote.test>', 'RCPT TO:<usr@example.test>', 'RCPT TO:<prog@example.test>', 'DATA', message('a@remote.test', 'usr@example.test', 'helper gone')]);
    assert.match(codes(r)[6], /^250 /, 'the message is accepted: the queue keeps it');
    const mail = await waitForMessages(server.ports.imaps, 'usr@example.test', 'pw-helper-1', 1);
    assert.ok(mail.some((m) => m.includes('Subject: helper gone')), 'the mailbox recipient is not held up');
    const deferred = await until('the program delivery deferred', () => /to=<\|record>, orig_to=<prog@example\.test>.*status=deferred \(4\.3\.0 the delivery helper exited/.exec(s.readLog())?.[0]);
    assert.ok(deferred);
    const q = await server.cli(['queue', 'list']);
    assert.match(q.stdout, /prog@example\.test/, `still in the queue:\n${q.stdout}${q.stderr}`);
    assert.throws(() => readFileSync(join(out, 'msgs')), /ENOENT/, 'the program never ran');

    await server.restart();
    await server.cli(['queue', 'flush']);
    const got = await until('the program ran after the restart', () => {
      try {
        const t = readFileSync(join(out, 'msgs'), 'utf8');
        return t.includes('Subject: helper gone') ? t : undefined;
      } catch {
        return undefined;
      }
    }, 60000);
    await until('the queue is empty', async () => ((await s.cli(['queue', 'list'])).stdout.includes('prog@example.test') ? undefined : true), 30000);
    assert.equal(got.split('Subject: helper gone').length - 1, 1, 'delivered once');
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
