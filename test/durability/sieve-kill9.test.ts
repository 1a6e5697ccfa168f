import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startSink } from '../helpers/sink.js';
import { startWorld, until, PASSWORD } from '../outbound/world.js';
import { folderMessages } from '../policy/mailbox.js';

/**
 * Sieve runs once per delivery even across a crash (issue 11): kill -9 while vacation replies
 * are being decided and queued, restart, and every message that got a 250 is in the mailbox
 * once and every sender got exactly one reply. The remote sink refuses data (451) until after
 * the restart, so no reply can have been sent by the killed process: any duplicate would be
 * Sieve's own.
 */
test('kill -9 during Sieve vacation deliveries: each accepted message stored once, each sender answered once', { timeout: 180_000 }, async () => {
  let open = false;
  const sink = await startSink({ dataReply: () => (open ? null : '451 4.3.0 not yet') });
  const user = 'vac@example.test';
  const w = await startWorld({
    dns: ['--mx-host=remote.test,mx.remote.test,10', `--host-record=mx.remote.test,${sink.host}`],
    toml: `[outbound]\nport = ${sink.port}\nretry_initial = 1\nretry_max = 2\n[sieve]\nvacation_min_period = 1\n`,
    users: [user],
  });
  try {
    const put = await w.server.cli(['sieve', 'put', user, '-', 'away'], 'require "vacation";\nvacation :days 7 "Away.";\n');
    assert.equal(put.code, 0, put.stderr);
    assert.equal((await w.server.cli(['sieve', 'activate', user, 'away'])).code, 0);
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: w.server.ports.smtp, secure: false, ignoreTLS: true, pool: true, maxConnections: 4,
      connectionTimeout: 5000, socketTimeout: 5000,
    });
    const accepted: string[] = [];
    let killed = false;
    await Promise.all(Array.from({ length: 60 }, (_, i) => `s${i}@remote.test`).map((from) =>
      transport.sendMail({ from, to: user, subject: `from ${from}`, text: 'hello\n' })
        .then(async () => {
          accepted.push(from);
          if (accepted.length === 30 && !killed) {
            killed = true;
            await w.server.kill9();
          }
        })
        .catch(() => undefined)));
    transport.close();
    assert.ok(killed && accepted.length >= 30, `acked before the kill: ${accepted.length}`);
    await w.server.restart();
    open = true;
    await sink.waitFor(accepted.length, 120_000);
    const box = await until('every accepted message stored', async () => {
      const m = await folderMessages(w.server.ports.imaps, user, PASSWORD);
      return m.length >= accepted.length ? m : false;
    }, 60_000);
    const subjects = box.map((m) => /^Subject: (.*)\r$/m.exec(m)?.[1]);
    assert.equal(new Set(subjects).size, subjects.length, 'no message stored twice');
    for (const a of accepted) assert.ok(subjects.includes(`from ${a}`), `${a}'s message kept`);
    // Once the queue is empty nothing more can be sent: then count, one reply per sender.
    await until('the queue empty', async () => /Mail queue is empty/.test((await w.server.cli(['queue', 'list'])).stdout), 60_000);
    const replied = sink.messages.map((m) => m.rcpts[0].address);
    assert.equal(new Set(replied).size, replied.length, `a sender answered twice: ${replied.sort().join(' ')}`);
    for (const s of subjects) assert.ok(replied.includes(s!.slice(5)), `${s}: answered`);
  } finally {
    await w.stop();
    await sink.close();
  }
});
