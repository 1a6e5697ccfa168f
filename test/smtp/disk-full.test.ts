import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { RawSmtp, storedMessages } from './client.js';
import { needs } from '../helpers/peers.js';

/** Disk full (issue 2, "Bad input"): a 4xx, nothing half-written, and mail flows again once there is room. */

async function transaction(c: RawSmtp, body: string): Promise<string> {
  assert.equal((await c.cmd('MAIL FROM:<sender@remote.test>')).code, 250);
  assert.equal((await c.cmd('RCPT TO:<usr@example.test>')).code, 250);
  const d = await c.cmd('DATA');
  if (d.code !== 354) return d.lines[0];
  c.send(body + '\r\n.\r\n');
  return (await c.reply(30000)).lines[0];
}

test('file system full in the middle of DATA: 452 4.3.1, no partial file; accepted again after room is made', { timeout: 90000, ...needs('mount', 'umount') }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'correo-smtp-full-'));
  const blobs = join(dir, 'blobs');
  mkdirSync(blobs);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', blobs], { stdio: 'pipe' });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    t.skip(`cannot mount a tmpfs here (needs root): ${(e as Error).message}`);
    return;
  }
  let server: TestServer | null = null;
  try {
    server = await startServer({ dir });
    await server.addUser('usr@example.test', 'pw-disk-full');
    const c = await RawSmtp.connect(server.ports.smtp);
    try {
      await c.reply();
      await c.cmd('EHLO client.test');
      const big = 'Subject: too big for the disk\r\n\r\n' + ('b'.repeat(98) + '\r\n').repeat(20000); // 2 MB
      assert.equal(await transaction(c, big), '452 4.3.1 Insufficient system storage');
      assert.equal(storedMessages(dir).length, 0, 'nothing half-written');
      execFileSync('mount', ['-o', 'remount,size=16m', blobs]);
      const r = await transaction(c, big.replace('too big for the disk', 'fits now'));
      assert.match(r, /^250 2\.0\.0 Ok: queued as /);
      assert.equal((await c.cmd('QUIT')).code, 221);
    } finally {
      c.destroy();
    }
    const stored = storedMessages(dir);
    assert.equal(stored.length, 1);
    assert.ok(stored[0].text.includes('Subject: fits now\r\n'));
    assert.match(server.readLog(), /refused message from unknown\[127\.0\.0\.1\]: .*(ENOSPC|no space)/i);
  } finally {
    await server?.stop();
    execFileSync('umount', [blobs]);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('less free space than [storage] min_free_bytes: 452 4.3.1 at DATA; accepted after the limit is lowered', { timeout: 90000 }, async () => {
  const server = await startServer({ toml: '[storage]\nmin_free_bytes = 1000000000000000\n' });
  try {
    await server.addUser('usr@example.test', 'pw-disk-full');
    const c = await RawSmtp.connect(server.ports.smtp);
    try {
      await c.reply();
      await c.cmd('EHLO client.test');
      assert.equal(await transaction(c, 'Subject: refused'), '452 4.3.1 Insufficient system storage');
      // The client may try again in the same session (the transaction is kept).
      assert.equal((await c.cmd('DATA')).lines[0], '452 4.3.1 Insufficient system storage');
      assert.equal((await c.cmd('QUIT')).code, 221);
    } finally {
      c.destroy();
    }
    assert.equal(storedMessages(server.dir).length, 0);
    const cfg = readFileSync(server.configFile, 'utf8');
    assert.match(cfg, /min_free_bytes = \d+/);
    writeFileSync(server.configFile, cfg.replace(/min_free_bytes = \d+/, 'min_free_bytes = 0'));
    await server.restart();
    const d = await RawSmtp.connect(server.ports.smtp);
    try {
      await d.reply();
      await d.cmd('EHLO client.test');
      assert.match(await transaction(d, 'Subject: accepted'), /^250 2\.0\.0 Ok: queued as /);
    } finally {
      d.destroy();
    }
    assert.equal(storedMessages(server.dir).length, 1);
  } finally {
    await server.stop();
  }
});
