import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/server.js';

function setup(programDir: boolean) {
  const dir = mkdtempSync(join(tmpdir(), 'correo-fwd-'));
  // The commands run as the server's user (correo), which must reach data_dir inside it.
  chmodSync(dir, 0o711);
  const cfg = join(dir, 'correo.toml');
  const bin = join(dir, 'smrsh');
  mkdirSync(bin);
  writeFileSync(join(bin, 'deliver'), '#!/bin/sh\ncat >/dev/null\n');
  chmodSync(join(bin, 'deliver'), 0o755);
  writeFileSync(cfg, `hostname = "mail.example.test"\ndata_dir = "${dir}/data"\ndomains = ["example.test"]\n${programDir ? `[delivery]\nprogram_dir = "${bin}"\n` : ''}`);
  return { dir, forwardFile: join(dir, 'data', 'forward', 'usr1@example.test'), cli: (args: string[], stdin?: string) => runCli([...args, '--config', cfg], stdin) };
}

test('issue 9 item 12: forward set refuses a program delivery would refuse, and writes nothing', { timeout: 60_000 }, async () => {
  const s = setup(true);
  try {
    assert.equal((await s.cli(['user', 'add', 'usr1@example.test', '--password-stdin'], 'pw\n')).code, 0);
    let r = await s.cli(['forward', 'set', 'usr1@example.test', '|/bin/sh -c "cat > /tmp/x"']);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /forward list of usr1@example\.test not changed: "\|\/bin\/sh -c .*": sh is not in .*smrsh/);
    assert.ok(!existsSync(s.forwardFile), 'nothing was written');
    r = await s.cli(['forward', 'set', 'usr1@example.test', '|deliver; rm -rf /']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /shell syntax is not allowed/);
    r = await s.cli(['forward', 'set', 'usr1@example.test', '\\usr1@example.test, |/usr/local/bin/deliver --folder Inbox']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(s.forwardFile), 'a program in program_dir is accepted (only its base name counts, as in smrsh)');
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

test('forward set with a program when program deliveries are off says so', { timeout: 60_000 }, async () => {
  const s = setup(false);
  try {
    assert.equal((await s.cli(['user', 'add', 'usr1@example.test', '--password-stdin'], 'pw\n')).code, 0);
    const r = await s.cli(['forward', 'set', 'usr1@example.test', '|deliver']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /program deliveries are off \(\[delivery\] program_dir is not set\)/);
    assert.ok(!existsSync(s.forwardFile));
    assert.equal((await s.cli(['forward', 'set', 'usr1@example.test', 'other@remote.test'])).code, 0, 'addresses need no program_dir');
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});
