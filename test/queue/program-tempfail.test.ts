import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startServer, type TestServer } from '../helpers/server.js';
import { codes, message, talk } from '../policy/smtp.js';
import { folderMessages } from '../policy/mailbox.js';

/**
 * A |program delivery that exits 75 (EX_TEMPFAIL, sysexits.h) is deferred and retried like a
 * 4xx, not bounced: a program that fails so once and succeeds the second time delivers once,
 * after the retry delay, and the sender gets no DSN. Another exit status still bounces.
 */

// Programs run as nobody when the server is root: everything they touch is reachable by nobody.
const dir = mkdtempSync(join(tmpdir(), 'correo-tempfail-'));
chmodSync(dir, 0o755);
const smrsh = join(dir, 'smrsh');
const out = join(dir, 'out');
const PW = 'pw-tempfail-1';
let server: TestServer;

test.before(async () => {
  mkdirSync(smrsh);
  mkdirSync(out, { mode: 0o777 });
  chmodSync(out, 0o777);
  // Fails with EX_TEMPFAIL until its state file exists; every run is timed in runs.log.
  writeFileSync(join(smrsh, 'flaky'), `#!/bin/sh
date +%s%N >> ${out}/runs.log
if [ ! -e ${out}/state ]; then : > ${out}/state; echo "try again later" >&2; exit 75; fi
cat > ${out}/delivered
`, { mode: 0o755 });
  writeFileSync(join(smrsh, 'broken'), '#!/bin/sh\ncat > /dev/null\nexit 70\n', { mode: 0o755 });
  writeFileSync(join(dir, 'aliases'), 'flaky: |flaky\nbroken: |broken\n');
  server = await startServer({
    toml: `[maps]\naliases = "${join(dir, 'aliases')}"\n[delivery]\nprogram_dir = "${smrsh}"\nprogram_timeout = 5\n[outbound]\nretry_initial = 2\nretry_max = 4\n`,
  });
  await server.addUser('admin@example.test', PW);
});
test.after(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function waitFor(what: string, ok: () => boolean, ms = 20000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('exit 75 is deferred, retried after retry_initial, delivered once, no DSN', { timeout: 60000 }, async () => {
  const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO client.test', 'MAIL FROM:<admin@example.test>', 'RCPT TO:<flaky@example.test>', 'DATA', message('admin@example.test', 'flaky@example.test', 'tempfail-once')]);
  assert.match(codes(r)[5], /^250 /, codes(r).join(' | '));
  await waitFor('the deferral in the log', () => /to=<\|flaky>, orig_to=<flaky@example\.test>, relay=program, .*status=deferred \(4\.0\.0 flaky exited 75: try again later; retry in 2s\)/.test(server.readLog()));
  assert.ok(!existsSync(join(out, 'delivered')));
  await waitFor('the second run', () => existsSync(join(out, 'delivered')) && /status=sent \(flaky exited 0\)/.test(server.readLog()));
  assert.match(readFileSync(join(out, 'delivered'), 'utf8'), /Subject: tempfail-once/);
  const runs = readFileSync(join(out, 'runs.log'), 'utf8').trim().split('\n').map((n) => Number(BigInt(n) / 1_000_000n));
  assert.equal(runs.length, 2, 'run twice, not more');
  assert.ok(runs[1] - runs[0] >= 1500, `retried after the delay (${runs[1] - runs[0]} ms)`);
  assert.doesNotMatch(server.readLog(), /flaky.*status=bounced/);
  // Give a (wrong) DSN time to arrive, then look: nothing came back to the sender.
  await sleep(1500);
  const inbox = await folderMessages(server.ports.imaps, 'admin@example.test', PW);
  assert.equal(inbox.length, 0, inbox.join('\n----\n'));
  assert.equal(readFileSync(join(out, 'runs.log'), 'utf8').trim().split('\n').length, 2, 'not run again after success');
});

test('another non-zero exit still bounces at once', { timeout: 60000 }, async () => {
  const r = await talk(server.ports.smtp, '127.0.0.1', ['EHLO client.test', 'MAIL FROM:<admin@example.test>', 'RCPT TO:<broken@example.test>', 'DATA', message('admin@example.test', 'broken@example.test', 'exit-70')]);
  assert.match(codes(r)[5], /^250 /);
  await waitFor('the bounce', () => /to=<broken>.*status=bounced.*broken exited 70|broken exited 70.*status=bounced|status=bounced.*broken exited 70/.test(server.readLog()));
  assert.doesNotMatch(server.readLog(), /\|broken>.*status=deferred/);
});
